import ArgumentParser
import Foundation
import Recur

/// Opens the model a command names, or fails with the file's problem.
func openModel(_ path: String) throws -> LanguageModelFile {
    do {
        return try LanguageModelFile.load(URL(fileURLWithPath: path))
    } catch {
        throw CommandFailure("\(error)")
    }
}

/// The kind of model the file at `path` holds ("language-model", "classifier"), or fails with the file's problem.
func modelKind(_ path: String) throws -> String {
    do {
        return ModelKind.of(try CheckpointFile.load(from: URL(fileURLWithPath: path))) ?? ""
    } catch {
        throw CommandFailure("\(error)")
    }
}

/// A command's inputs: its arguments, then the non-empty lines of `file`; standard input's lines when neither is
/// given. A file or input that is not UTF-8 text fails with its name.
func inputLines(_ arguments: [String], file: String?) throws -> [String] {
    let text: String
    do {
        if let file {
            text = try TextFile.read(file)
        } else if arguments.isEmpty {
            text = try TextFile.decode(FileHandle.standardInput.readDataToEndOfFile(), path: "standard input")
        } else {
            return arguments
        }
    } catch {
        throw CommandFailure("\(error)")
    }
    return arguments + Vocabulary.lines(text).map(String.init).filter { !$0.isEmpty }
}

/// Says on standard error which tokens --skip-unknown left out, if any.
func reportSkipped(_ skipped: SkippedTokens) {
    guard skipped.count > 0 else { return }
    let noun = skipped.count == 1 ? "token" : "tokens"
    FileHandle.standardError.write(Data("recur: left out \(skipped.count) \(noun) the model has never seen: \(skipped.summary())\n".utf8))
}

// MARK: - sample

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Write new text with a trained model, one token at a time.",
        discussion: """
            The course's procedure: start from a zero state and the model's start input (or the state after --prime), \
            draw each token from the softmax, feed it back, and stop after --length tokens or, with --stop-at-eos, \
            at the end token. Tokens are printed as they are drawn. --temperature 0 always takes the most likely token.
            """
    )

    @Argument(help: "The model (a checkpoint written by recur train).") var model: String
    @Option(help: "Text the sample continues (it is printed first).") var prime: String?
    @Option(help: "Tokens to draw.") var length: Int = 200
    @Option(help: "Softmax temperature; 0 is greedy.") var temperature: Double = 1
    @Option(help: "Draw only from the k most likely tokens.") var topK: Int?
    @Option(help: "Draw only from the most likely tokens that make up this probability.") var topP: Double?
    @Option(help: "Seed of the draws.") var seed: UInt64 = 0
    @Flag(help: "Stop at the end token (a line end).") var stopAtEos = false
    @Flag(help: "Never draw the unknown token.") var noUnk = false
    @OptionGroup var compute: ComputeOptions

    var options: SamplingOptions { SamplingOptions(temperature: temperature, topK: topK, topP: topP) }

    func validate() throws {
        if length < 1 || length > 1_000_000 { throw ValidationError("--length must be between 1 and 1000000, got \(length)") }
        if let problem = options.problems.first { throw ValidationError("--" + problem.replacingOccurrences(of: "the temperature", with: "temperature")) }
    }

    func run() throws {
        let file = try openModel(model)
        let vocabulary = file.vocabulary
        var sampling = options
        if noUnk { sampling.rejected = vocabulary.unknownID }
        let sampler = Sampler(model: file.model, start: file.start, settings: compute.settings)
        var text = ""
        if let prime, !prime.isEmpty {
            var ids: [Int]
            do {
                ids = try vocabulary.encode(prime)
            } catch {
                throw CommandFailure("--prime: \(error)")
            }
            // A word-level prime is the start of a line: it does not end with the end token.
            if vocabulary.level == .word && !prime.hasSuffix("\n") && ids.last == vocabulary.endID { ids.removeLast() }
            sampler.prime(ids)
            text = vocabulary.decode(ids)
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        var generator = SeededGenerator(seed: seed)
        for _ in 0..<length {
            let id = sampler.next(sampling, using: &generator)
            if stopAtEos && id == vocabulary.endID { break }
            let piece = vocabulary.piece(id, after: text)
            text += piece
            FileHandle.standardOutput.write(Data(piece.utf8))
        }
        if !text.hasSuffix("\n") { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }
}

// MARK: - score

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "How likely a model finds each sentence, ranked.",
        discussion: """
            log P(sentence) is the natural log of the product of the model's probability for each token given \
            the ones before it, the end token included (the model reads its start input first). Also printed: \
            the average per token and the perplexity, exp(−average). With several sentences they are ranked, \
            most likely first — the course's speech-recognition example: \
            recur score MODEL "The apple and pair salad." "The apple and pear salad."
            """
    )

    @Argument(help: "The model (a checkpoint written by recur train).") var model: String
    @Argument(help: "Sentences to score (none: one per line from --file or standard input).") var sentences: [String] = []
    @Option(help: "A file with one sentence per line.") var file: String?
    @Flag(help: "Leave out tokens the model has never seen (instead of stopping), and say which.") var skipUnknown = false
    @Flag(help: "One JSON object per sentence and line: sentence, log_probability, tokens, perplexity, average_log_probability, rank, skipped_tokens.")
    var json = false
    @OptionGroup var compute: ComputeOptions

    struct Score: Encodable {
        var sentence: String
        var logProbability: Double
        var tokens: Int
        var averageLogProbability: Double
        var perplexity: Double
        var rank: Int
        var skippedTokens: Int
    }

    func run() throws {
        let loaded = try openModel(model)
        let all = try inputLines(sentences, file: file)
        guard !all.isEmpty else { throw CommandFailure("no sentences to score") }
        var skipped = SkippedTokens()
        var skippedPerSentence: [Int] = []
        let ids = try all.enumerated().map { index, sentence in
            if skipUnknown {
                let before = skipped.count
                defer { skippedPerSentence.append(skipped.count - before) }
                return loaded.vocabulary.encodeSentence(sentence, skipping: &skipped)
            }
            do {
                skippedPerSentence.append(0)
                return try loaded.vocabulary.encodeSentence(sentence)
            } catch {
                throw CommandFailure("sentence \(index + 1) (\(sentence.debugDescription)): \(error); --skip-unknown leaves such tokens out and scores the rest")
            }
        }
        reportSkipped(skipped)
        let logProbabilities = loaded.model.tokenLogProbabilities(ids, start: loaded.start, settings: compute.settings)
        var scores = zip(all, logProbabilities).enumerated().map { index, pair in
            let (sentence, values) = pair
            let total = values.reduce(0, +), average = total / Double(max(1, values.count))
            return Score(sentence: sentence, logProbability: total, tokens: values.count, averageLogProbability: average,
                         perplexity: Foundation.exp(-average), rank: 0, skippedTokens: skippedPerSentence[index])
        }
        let order = scores.indices.sorted { scores[$0].logProbability > scores[$1].logProbability }
        for (rank, index) in order.enumerated() { scores[index].rank = rank + 1 }
        if json {
            for score in scores { print(RecurJSON.line(score)) }
            return
        }
        for index in order {
            let score = scores[index]
            print(String(format: "%d. log P = %.4f  (%d tokens, %.4f per token, perplexity %.2f)  %@", score.rank,
                         score.logProbability, score.tokens, score.averageLogProbability, score.perplexity, score.sentence))
        }
    }
}

// MARK: - eval

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "A model's measures on a file: a language model's perplexity, a classifier's accuracy, a tagger's entity F1.",
        discussion: """
            Language model: a model trained on a stream reads the whole file as one stream, each token conditioned \
            on all the text before it; a model trained on lines (--layout lines) scores each line on its own. loss \
            is in nats per token, perplexity = exp(loss), bits_per_character = the total in bits over the characters \
            of the file. Classifier: --data is a labelled table (--format, --text-column, --label-column, as for \
            recur train classifier); it prints accuracy, macro-F1, each label's precision, recall and F1, and the \
            confusion matrix; examples whose label the model never saw are counted and left out. Tagger: --data is \
            a CoNLL file (--token-column, --tag-column); it prints entity precision, recall and F1 as conlleval \
            counts them, overall and per type, and token accuracy; tags that break the file's scheme are read as \
            conlleval reads them and counted.
            """
    )

    @Argument(help: "The model (a checkpoint written by recur train).") var model: String
    @Option(help: "The text (language model) or labelled table (classifier) to evaluate.") var data: String
    @Flag(help: "Language model: leave out tokens the model has never seen (instead of stopping), and say which.") var skipUnknown = false
    @Option(help: "Classifier: tsv or csv.") var format: DelimitedTable.Format = .tsv
    @Option(help: "Classifier: the column of the text, counting from 1.") var textColumn: Int = 1
    @Option(help: "Classifier: the column of the label, counting from 1.") var labelColumn: Int = 2
    @Option(help: "Classifier: also write the confusion matrix as an SVG picture to this file.") var svg: String?
    @Option(help: "Tagger: the column of the token, counting from 1.") var tokenColumn: Int = 1
    @Option(help: "Tagger: the column of the tag, counting from 1 (default: the last).") var tagColumn: Int?
    @Option(help: "Tagger: the file's tag scheme, iob1, bio2 or iobes (default: detected).") var tagScheme: TagScheme?
    @Flag(help: "One JSON object. Language model: loss, perplexity, bits_per_character, tokens, skipped_tokens, skipped. Classifier: accuracy, macro_f1, loss, per_class, confusion, labels, examples, unknown_labels (multi-label: micro_f1, macro_f1, subset_accuracy, hamming_loss, loss, per_label, labels, examples, unknown_labels). Tagger: f1, precision, recall, token_accuracy, per_type, loss, sentences, tokens, unknown_types, repaired_tags.")
    var json = false
    @OptionGroup var compute: ComputeOptions

    struct Result: Encodable {
        var loss: Double
        var perplexity: Double
        var bitsPerCharacter: Double
        var tokens: Int
        var skippedTokens: Int
        /// Each token left out, with how often.
        var skipped: [String: Int]
    }

    /// The ids of `text`, leaving out unknown tokens with --skip-unknown, else stopping at the first.
    private func encode(_ text: String, vocabulary: Vocabulary, completesLastLine: Bool = true, firstPosition: Int = 0,
                        sentence: Bool = false, skipped: inout SkippedTokens) throws -> [Int] {
        if skipUnknown {
            return sentence ? vocabulary.encodeSentence(text, skipping: &skipped)
                            : vocabulary.encode(text, completesLastLine: completesLastLine, skipping: &skipped)
        }
        do {
            return sentence ? try vocabulary.encodeSentence(text)
                            : try vocabulary.encode(text, completesLastLine: completesLastLine, firstPosition: firstPosition)
        } catch {
            throw CommandFailure("\(data): \(error); --skip-unknown leaves such tokens out and scores the rest")
        }
    }

    func run() throws {
        switch try modelKind(model) {
        case SequenceClassifier.kind: return try evaluateClassifier()
        case SequenceTagger.kind: return try evaluateTagger()
        default: break
        }
        let loaded = try openModel(model)
        var total = 0.0, tokens = 0, characters = 0
        var skipped = SkippedTokens()
        if loaded.start >= 0 {
            // A model trained on a stream reads the file as one stream, a piece at a time.
            var loss = StreamLoss(model: loaded.model, start: loaded.start)
            do {
                try TextFile.forEachPiece(data, cutsAnywhereASCII: loaded.vocabulary.level == .char) { piece, endsLine in
                    loss.add(try encode(piece, vocabulary: loaded.vocabulary, completesLastLine: endsLine,
                                        firstPosition: loss.tokens, skipped: &skipped),
                             settings: compute.settings)
                    characters += piece.count
                }
            } catch let error as TextFileError {
                throw CommandFailure("\(error)")
            } catch let error as CommandFailure {
                throw error
            } catch {
                throw CommandFailure("\(data): \(error)")
            }
            (total, tokens) = (loss.total, loss.tokens)
        } else {
            // A model trained on lines scores each line from the zero input (the lines are held in memory).
            let text: String
            do { text = try TextFile.read(data) } catch { throw CommandFailure("\(error)") }
            characters = text.count
            let lines = try Vocabulary.lines(text).filter { !$0.isEmpty }.map {
                try encode(String($0), vocabulary: loaded.vocabulary, sentence: true, skipped: &skipped)
            }
            for chunk in stride(from: 0, to: lines.count, by: 64) {
                let part = Array(lines[chunk..<min(lines.count, chunk + 64)])
                for values in loaded.model.tokenLogProbabilities(part, start: -1, settings: compute.settings) {
                    total -= values.reduce(0, +)
                    tokens += values.count
                }
            }
        }
        reportSkipped(skipped)
        characters -= skipped.characters
        guard tokens > 0 else { throw CommandFailure("\(data): nothing to evaluate") }
        let loss = total / Double(tokens)
        let result = Result(loss: loss, perplexity: Foundation.exp(loss), bitsPerCharacter: total / log(2) / Double(characters),
                            tokens: tokens, skippedTokens: skipped.count,
                            skipped: Dictionary(uniqueKeysWithValues: skipped.tokens.map { ($0.token, $0.count) }))
        if json {
            print(RecurJSON.line(result))
        } else {
            print(String(format: "loss %.4f nats/token · perplexity %.2f · %.4f bits/character · %d tokens",
                         result.loss, result.perplexity, result.bitsPerCharacter, result.tokens))
        }
    }
}

extension EvalCommand {
    /// What `eval --json` prints for a classifier.
    struct ClassifierResult: Encodable {
        var accuracy: Double
        var macroF1: Double
        var loss: Double
        var perClass: [ClassificationMetrics.ClassScores]
        var confusion: [[Int]]
        var labels: [String]
        var examples: Int
        /// Labels of the file the model never saw, with how many examples have each.
        var unknownLabels: [String: Int]
    }

    /// What `eval --json` prints for a multi-label classifier.
    struct MultiLabelResult: Encodable {
        var microF1: Double
        var macroF1: Double
        var subsetAccuracy: Double
        var hammingLoss: Double
        var loss: Double
        var perLabel: [ClassificationMetrics.ClassScores]
        var labels: [String]
        var examples: Int
        /// Labels of the file the model never saw, with how many examples have each (left out of their sets).
        var unknownLabels: [String: Int]
    }

    /// A multi-label classifier's metrics on a labelled table: labels the model never saw are counted and left out of
    /// each example's set.
    func evaluateMultiLabel(_ loaded: ClassifierFile, separator: String) throws {
        let options = try LabelledDataOptions.parse(["--data", data, "--format", format.rawValue, "--text-column", String(textColumn),
                                                     "--label-column", String(labelColumn), "--multi-label", "--label-separator", separator])
        let labels = loaded.vocabulary.labels
        let classIndex = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        var examples: [(ids: [Int], labels: Set<Int>)] = [], unknown: [String: Int] = [:]
        for row in try options.rows(data) {
            var set = Set<Int>()
            for label in options.labelSet(row.label) {
                if let index = classIndex[label] { set.insert(index) } else { unknown[label, default: 0] += 1 }
            }
            examples.append((try exampleIDs(row.text, vocabulary: loaded.vocabulary.tokens, maxLength: .max, path: data, line: row.line), set))
        }
        if !unknown.isEmpty {
            let listed = unknown.sorted { $0.key < $1.key }.map { "'\($0.key)' ×\($0.value)" }.joined(separator: ", ")
            FileHandle.standardError.write(Data("recur: left out labels the model never saw: \(listed) (it knows \(labels.joined(separator: ", ")))\n".utf8))
        }
        let source = ClassificationExamples(multiLabelExamples: examples, classCount: labels.count, batchSize: 256, shuffles: false)
        let (metrics, loss) = loaded.model.multiLabelMetrics(source, labels: labels, settings: compute.settings)
        if json {
            print(RecurJSON.line(MultiLabelResult(microF1: metrics.microF1, macroF1: metrics.macroF1, subsetAccuracy: metrics.subsetAccuracy,
                                                  hammingLoss: metrics.hammingLoss, loss: loss, perLabel: metrics.perLabel, labels: labels,
                                                  examples: metrics.count, unknownLabels: unknown)))
        } else {
            print(String(format: "loss %.4f nats/example · ", loss) + metrics.text(), terminator: "")
        }
    }

    /// A classifier's metrics on a labelled table.
    func evaluateClassifier() throws {
        let loaded = try openClassifier(model)
        if let separator = loaded.vocabulary.labelSeparator { return try evaluateMultiLabel(loaded, separator: separator) }
        let options = try LabelledDataOptions.parse(["--data", data, "--format", format.rawValue,
                                                     "--text-column", String(textColumn), "--label-column", String(labelColumn)])
        let labels = loaded.vocabulary.labels
        let classIndex = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        var examples: [(ids: [Int], label: Int)] = [], unknown: [String: Int] = [:]
        for row in try options.rows(data) {
            guard let label = classIndex[row.label] else { unknown[row.label, default: 0] += 1; continue }
            examples.append((try exampleIDs(row.text, vocabulary: loaded.vocabulary.tokens, maxLength: .max, path: data, line: row.line), label))
        }
        if !unknown.isEmpty {
            let listed = unknown.sorted { $0.key < $1.key }.map { "'\($0.key)' ×\($0.value)" }.joined(separator: ", ")
            FileHandle.standardError.write(Data("recur: left out \(unknown.values.reduce(0, +)) examples whose label the model never saw: \(listed) (it knows \(labels.joined(separator: ", ")))\n".utf8))
        }
        guard !examples.isEmpty else { throw CommandFailure("\(data): no example has a label the model knows") }
        let source = ClassificationExamples(examples: examples, batchSize: 256, shuffles: false)
        let (metrics, loss) = loaded.model.classificationMetrics(source, labels: labels, settings: compute.settings)
        if let svg {
            do {
                try Data(metrics.svg(title: "\(URL(fileURLWithPath: model).lastPathComponent) on \(URL(fileURLWithPath: data).lastPathComponent)").utf8)
                    .withUnsafeBytes { try AtomicFile.write($0, to: URL(fileURLWithPath: svg)) }
            } catch {
                throw CommandFailure("--svg \(svg): \(error)")
            }
        }
        if json {
            print(RecurJSON.line(ClassifierResult(accuracy: metrics.accuracy, macroF1: metrics.macroF1, loss: loss,
                                                  perClass: metrics.perClass, confusion: metrics.confusion, labels: labels,
                                                  examples: metrics.count, unknownLabels: unknown)))
        } else {
            print(String(format: "loss %.4f nats/example · ", loss) + metrics.text(), terminator: "")
        }
    }
}

extension EvalCommand {
    /// What `eval --json` prints for a tagger.
    struct TaggerResult: Encodable {
        struct TypeScores: Encodable {
            var precision: Double
            var recall: Double
            var f1: Double
            var support: Int
            var predicted: Int
        }
        var f1: Double
        var precision: Double
        var recall: Double
        var tokenAccuracy: Double
        var perType: [String: TypeScores]
        var loss: Double
        var sentences: Int
        var tokens: Int
        /// Entity types of the file the model never saw, with how many entities have each.
        var unknownTypes: [String: Int]
        /// Tags that broke the file's scheme, read as conlleval reads them.
        var repairedTags: Int
    }

    /// A tagger's entity-level metrics on a CoNLL file.
    func evaluateTagger() throws {
        let loaded = try openTagger(model)
        let sentences = try readTaggedSentences(data, tokenColumn: tokenColumn, tagColumn: tagColumn)
        let truth = sentences.map { $0.tags! }
        let scheme = tagScheme ?? TagScheme.detect(truth)
        let encoding = loaded.encoding
        var repaired = 0, unknown: [String: Int] = [:]
        let known = Set(loaded.model.configuration.tags.compactMap { TagScheme.Tag($0)?.type })
        let tagged = sentences.map { sentence -> TaggedSentence in
            let (ids, changed) = encoding.encode(sentence.tags!, dataScheme: scheme)
            repaired += changed
            for chunk in TagScheme.chunks(sentence.tags!) where !known.contains(chunk.type) { unknown[chunk.type, default: 0] += 1 }
            return loaded.vocabulary.sentence(sentence.tokens, tagIDs: ids)
        }
        if repaired > 0 {
            FileHandle.standardError.write(Data("recur: \(repaired) tags of \(data) broke the \(scheme.rawValue) scheme and were read as conlleval reads them\n".utf8))
        }
        if !unknown.isEmpty {
            let listed = unknown.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
            FileHandle.standardError.write(Data("recur: entities of types the model never saw, counted as missed: \(listed)\n".utf8))
        }
        // The loss over the model's tags; the metrics over the file's own tags against the predictions in its scheme.
        var total = 0.0, counted = 0
        var metrics = ChunkMetrics()
        for start in stride(from: 0, to: tagged.count, by: 64) {
            let range = start..<min(tagged.count, start + 64)
            let batch = TaggingBatch(packing: Array(tagged[range]))
            let loss = loaded.model.loss(batch, settings: compute.settings)
            total += loss.total
            counted += loss.tokens
            for (offset, path) in loaded.model.decode(batch, settings: compute.settings).enumerated() {
                metrics.add(truth: truth[start + offset], predicted: encoding.decode(path, as: scheme))
            }
        }
        let result = TaggerResult(
            f1: metrics.f1, precision: metrics.precision, recall: metrics.recall, tokenAccuracy: metrics.tokenAccuracy,
            perType: metrics.perType.mapValues { .init(precision: $0.precision, recall: $0.recall, f1: $0.f1, support: $0.truth, predicted: $0.predicted) },
            loss: total / Double(max(1, counted)), sentences: sentences.count, tokens: metrics.tokens, unknownTypes: unknown,
            repairedTags: repaired)
        if json {
            print(RecurJSON.line(result))
        } else {
            print(String(format: "entity F1 %.2f %% · precision %.2f %% · recall %.2f %% · token accuracy %.2f %% · loss %.4f nats/token · %d sentences",
                         100 * result.f1, 100 * result.precision, 100 * result.recall, 100 * result.tokenAccuracy, result.loss, result.sentences))
            print(metrics.report)
        }
    }
}

// MARK: - inspect

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "What a model file holds: configuration, vocabulary, size and training history."
    )

    @Argument(help: "The model (a checkpoint written by recur train).") var model: String
    @Flag(help: "One JSON object: kind, format_version, recur_version, configuration, vocabulary_size, level, parameter_count, step, total_steps, epoch, tokens_seen, best_validation_loss, validation_history, options.")
    var json = false

    struct Summary: Encodable {
        var kind: String
        var formatVersion: Int
        var recurVersion: String
        var configuration: LanguageModelConfiguration
        var vocabularySize: Int
        var level: String
        var parameterCount: Int
        var step: Int?
        var totalSteps: Int?
        var epoch: Double?
        var tokensSeen: Int?
        var bestValidationLoss: Double?
        var validationHistory: [ValidationPoint]?
        var options: TrainingOptions?
    }

    func run() throws {
        switch try modelKind(model) {
        case SequenceClassifier.kind: return try inspectClassifier()
        case SequenceTagger.kind: return try inspectTagger()
        default: break
        }
        let loaded = try openModel(model)
        let document = loaded.document, training = document.training
        let summary = Summary(
            kind: document.kind, formatVersion: CheckpointFile.formatVersion, recurVersion: document.recurVersion,
            configuration: document.model, vocabularySize: loaded.vocabulary.count, level: loaded.vocabulary.level.rawValue,
            parameterCount: loaded.model.parameterCount, step: training?.progress.step, totalSteps: training?.totalSteps,
            epoch: training?.epoch, tokensSeen: training?.progress.tokensSeen,
            bestValidationLoss: training?.progress.bestValidationLoss, validationHistory: training?.progress.validationHistory,
            options: training?.options)
        if json {
            print(RecurJSON.line(summary))
            return
        }
        let c = document.model, r = c.recurrent
        print("\(model): \(document.kind), format \(CheckpointFile.formatVersion), written by Recur \(document.recurVersion)")
        var network = "\(r.layers) × \(r.cell.rawValue.uppercased())"
        if r.cell == .gru { network += " (\(r.gruVariant.rawValue) form)" }
        if r.cell == .rnn { network += " (\(r.activation.rawValue))" }
        print("model: \(network), hidden \(r.hiddenSize), input \(c.embeddingSize.map { "embedding \($0)" } ?? "one-hot"), dropout \(r.dropout)")
        let v = loaded.vocabulary
        let sample = v.tokens.prefix(12).map { $0.debugDescription }.joined(separator: " ")
        print("vocabulary: \(v.count) \(v.level == .char ? "characters" : "words") (end \(v.endToken.debugDescription)\(v.unknownToken.map { ", unknown \($0.debugDescription)" } ?? "")): \(sample)\(v.count > 12 ? " …" : "")")
        print("parameters: \(loaded.model.parameterCount)")
        if let training {
            print(String(format: "training: step %d of %d (epoch %.2f), %d tokens seen, %@ optimizer, learning rate %g",
                         training.progress.step, training.totalSteps, training.epoch, training.progress.tokensSeen,
                         training.options.optimizer.kind.rawValue, training.options.learningRate))
            if let best = training.progress.bestValidationLoss, let step = training.progress.bestStep {
                print(String(format: "best validation loss: %.4f at step %d", best, step))
            }
            let history = training.progress.validationHistory
            if !history.isEmpty {
                print("validation history: " + history.suffix(10).map { String(format: "%d: %.4f", $0.step, $0.loss) }.joined(separator: ", ")
                      + (history.count > 10 ? " (last 10 of \(history.count))" : ""))
            }
        }
    }
}

extension InspectCommand {
    /// What `inspect --json` prints for a classifier.
    struct ClassifierSummary: Encodable {
        var kind: String
        var formatVersion: Int
        var recurVersion: String
        var configuration: ClassifierConfiguration
        var labels: [String]
        var vocabularySize: Int
        var level: String
        var parameterCount: Int
        var step: Int?
        var totalSteps: Int?
        var epoch: Double?
        var examplesSeen: Int?
        var bestValidationMetrics: [String: Double]?
        var validationHistory: [ValidationPoint]?
        var options: TrainingOptions?
    }

    /// A classifier's file: configuration, labels, vocabulary, size and training history.
    func inspectClassifier() throws {
        let loaded = try openClassifier(model)
        let document = loaded.document, training = document.training, c = document.model, r = c.recurrent
        if json {
            print(RecurJSON.line(ClassifierSummary(
                kind: document.kind, formatVersion: CheckpointFile.formatVersion, recurVersion: document.recurVersion,
                configuration: c, labels: loaded.vocabulary.labels, vocabularySize: loaded.vocabulary.tokens.count,
                level: loaded.vocabulary.tokens.level.rawValue, parameterCount: loaded.model.parameterCount,
                step: training?.progress.step, totalSteps: training?.totalSteps, epoch: training?.epoch,
                examplesSeen: training?.progress.tokensSeen, bestValidationMetrics: training?.progress.bestValidationMetrics,
                validationHistory: training?.progress.validationHistory, options: training?.options)))
            return
        }
        print("\(model): \(document.kind), format \(CheckpointFile.formatVersion), written by Recur \(document.recurVersion)")
        print("model: \(r.layers) × \(r.bidirectional ? "bidirectional " : "")\(r.cell.rawValue.uppercased()), hidden \(r.hiddenSize), "
              + "input \(c.embeddingSize.map { "embedding \($0)" } ?? "one-hot"), \(c.pooling.rawValue) pooling"
              + (c.hiddenLayerSize.map { ", tanh layer \($0)" } ?? "")
              + (c.multiLabel ? ", \(c.classCount) labels (multi-label: a sigmoid each)" : ", \(c.classCount) classes"))
        print("labels: " + loaded.vocabulary.labels.joined(separator: ", "))
        let v = loaded.vocabulary.tokens
        print("vocabulary: \(v.count) \(v.level == .char ? "characters" : "words")")
        print("parameters: \(loaded.model.parameterCount)")
        if let training {
            print(String(format: "training: step %d of %d (epoch %.2f), %d examples seen, %@ optimizer, learning rate %g",
                         training.progress.step, training.totalSteps, training.epoch, training.progress.tokensSeen,
                         training.options.optimizer.kind.rawValue, training.options.learningRate))
            if let best = training.progress.bestValidationMetrics?["accuracy"], let step = training.progress.bestStep {
                print(String(format: "best validation accuracy: %.2f %% at step %d", 100 * best, step))
            }
        }
    }
}

extension InspectCommand {
    /// What `inspect --json` prints for a tagger.
    struct TaggerSummary: Encodable {
        var kind: String
        var formatVersion: Int
        var recurVersion: String
        var configuration: TaggerConfiguration
        var dataScheme: TagScheme
        var vocabularySize: Int
        var characterVocabularySize: Int?
        var parameterCount: Int
        var step: Int?
        var totalSteps: Int?
        var epoch: Double?
        var tokensSeen: Int?
        var bestValidationMetrics: [String: Double]?
        var validationHistory: [ValidationPoint]?
        var options: TrainingOptions?
    }

    /// A tagger's file: configuration, tags, vocabularies, size and training history.
    func inspectTagger() throws {
        let loaded = try openTagger(model)
        let document = loaded.document, training = document.training, c = document.model, r = c.recurrent
        if json {
            print(RecurJSON.line(TaggerSummary(
                kind: document.kind, formatVersion: CheckpointFile.formatVersion, recurVersion: document.recurVersion,
                configuration: c, dataScheme: loaded.vocabulary.dataScheme, vocabularySize: loaded.vocabulary.words.count,
                characterVocabularySize: loaded.vocabulary.characters?.count, parameterCount: loaded.model.parameterCount,
                step: training?.progress.step, totalSteps: training?.totalSteps, epoch: training?.epoch,
                tokensSeen: training?.progress.tokensSeen, bestValidationMetrics: training?.progress.bestValidationMetrics,
                validationHistory: training?.progress.validationHistory, options: training?.options)))
            return
        }
        print("\(model): \(document.kind), format \(CheckpointFile.formatVersion), written by Recur \(document.recurVersion)")
        let spelling = c.characters.map { ", characters \($0.embeddingSize) → bidirectional \($0.recurrent.cell.rawValue.uppercased()) \($0.recurrent.hiddenSize)" } ?? ""
        print("model: words \(c.embeddingSize)\(spelling) → \(r.layers) × \(r.bidirectional ? "bidirectional " : "")\(r.cell.rawValue.uppercased()), "
              + "hidden \(r.hiddenSize) → \(c.outputLayer == .crf ? "CRF\(c.constrainsTransitions ? " (constrained)" : "")" : "softmax")")
        print("tags (\(c.scheme.rawValue); data in \(loaded.vocabulary.dataScheme.rawValue)): " + c.tags.joined(separator: ", "))
        print("vocabulary: \(loaded.vocabulary.words.count) words" + (loaded.vocabulary.characters.map { ", \($0.count) characters" } ?? ""))
        print("parameters: \(loaded.model.parameterCount)")
        if let training {
            print(String(format: "training: step %d of %d (epoch %.2f), %d tokens seen, %@ optimizer, learning rate %g",
                         training.progress.step, training.totalSteps, training.epoch, training.progress.tokensSeen,
                         training.options.optimizer.kind.rawValue, training.options.learningRate))
            if let best = training.progress.bestValidationMetrics?["f1"], let step = training.progress.bestStep {
                print(String(format: "best validation entity F1: %.2f %% at step %d", 100 * best, step))
            }
        }
    }
}
