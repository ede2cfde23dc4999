import ArgumentParser
import Foundation
import Recur

extension DelimitedTable.Format: ExpressibleByArgument {}
extension SequencePooling: ExpressibleByArgument {}

/// Where a classifier's labelled texts come from: `recur train classifier`'s data options.
struct LabelledDataOptions: ParsableArguments {
    @Option(help: "The labelled training data: one example per line.") var data: String
    @Option(help: "Labelled validation data (default: --valid-fraction of --data, stratified).") var valid: String?
    @Option(help: "Fraction of --data held out for validation when --valid is not given (0 for none).")
    var validFraction: Double = 0.1
    @Option(help: "tsv (fields separated by tabs) or csv (RFC 4180).") var format: DelimitedTable.Format = .tsv
    @Option(help: "The column of the text, counting from 1.") var textColumn: Int = 1
    @Option(help: "The column of the label, counting from 1.") var labelColumn: Int = 2
    @Flag(help: "Each example has any number of labels, listed in the label column with --label-separator between them (a sigmoid per label).")
    var multiLabel = false
    @Option(help: "--multi-label: what separates an example's labels.") var labelSeparator: String = ","
    @Option(help: "Tokens: char (every character) or word (split on spaces).") var level: Vocabulary.Level = .word
    @Flag(help: "Lowercase the text before splitting it into tokens.") var lowercase = false
    @Flag(help: "word: make punctuation marks and symbols tokens of their own (\"great!\" → great, !).") var splitPunctuation = false
    @Option(help: "word: keep at most this many tokens (the end and unknown tokens included).") var maxVocabularySize: Int?
    @Option(help: "word: words seen fewer times become the unknown token.") var minCount: Int = 1
    @Option(help: "The most tokens an example may have.") var maxLength: Int = 10_000

    func validate() throws {
        try require(textColumn >= 1 && labelColumn >= 1, "--text-column and --label-column count from 1, got \(textColumn) and \(labelColumn)")
        try require(textColumn != labelColumn, "--text-column and --label-column must differ, both are \(textColumn)")
        try require(!labelSeparator.isEmpty, "--label-separator cannot be empty")
        try require(validFraction >= 0 && validFraction < 1, "--valid-fraction must be in [0, 1), got \(validFraction)")
        if let maxVocabularySize { try require(maxVocabularySize >= 3, "--max-vocabulary-size must be at least 3, got \(maxVocabularySize)") }
        try require(!splitPunctuation || level == .word, "--split-punctuation splits words; it needs --level word")
        try require(minCount >= 1, "--min-count must be at least 1, got \(minCount)")
        try require(maxLength >= 1, "--max-length must be at least 1, got \(maxLength)")
    }

    /// The (text, label, line) of every row of `path`.
    func rows(_ path: String) throws -> [(text: String, label: String, line: Int)] {
        let table: DelimitedTable
        do {
            table = try DelimitedTable.read(path, format: format)
        } catch {
            throw CommandFailure("\(error)")
        }
        guard !table.rows.isEmpty else { throw CommandFailure("\(path): it has no examples") }
        do {
            let texts = try table.column(textColumn - 1, named: "text"), labels = try table.column(labelColumn - 1, named: "label")
            return try table.rows.indices.map { i in
                guard !texts[i].allSatisfy(\.isWhitespace) else {
                    throw CommandFailure("\(path): line \(table.rows[i].line): the text is empty")
                }
                guard !labels[i].isEmpty || multiLabel else {
                    throw CommandFailure("\(path): line \(table.rows[i].line): the label is empty")
                }
                return (texts[i], labels[i], table.rows[i].line)
            }
        } catch let error as TableError {
            throw CommandFailure("\(error)")
        }
    }

    /// The labels of a row's label field: itself, or with --multi-label its labels split at --label-separator
    /// (spaces around each trimmed, empty ones dropped; an empty field is an example with no label).
    func labelSet(_ field: String) -> [String] {
        guard multiLabel else { return [field] }
        return field.components(separatedBy: labelSeparator).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The token vocabulary of the training texts: words (with `<unk>`), or characters with U+FFFD for the unseen.
    func vocabulary(_ texts: [String]) -> Vocabulary {
        var counter = TokenCounter(level: level, lowercases: lowercase, splitsPunctuation: splitPunctuation)
        for text in texts { counter.add(text + "\n") }
        switch level {
        case .word: return Vocabulary(words: counter, maximumSize: maxVocabularySize, minimumCount: minCount)
        case .char: return Vocabulary(characters: counter, unknownToken: "\u{FFFD}")
        }
    }
}

/// The ids of one example's text (characters or words; no end token), refused past `maxLength`.
func exampleIDs(_ text: String, vocabulary: Vocabulary, maxLength: Int, path: String, line: Int) throws -> [Int] {
    var skipped = SkippedTokens()
    var ids = vocabulary.encode(text, skipping: &skipped)     // the vocabulary has an unknown token: nothing is skipped
    if vocabulary.level == .word, ids.last == vocabulary.endID { ids.removeLast() }
    guard !ids.isEmpty else { throw CommandFailure("\(path): line \(line): the text has no tokens") }
    guard ids.count <= maxLength else {
        throw CommandFailure("\(path): line \(line) has \(ids.count) tokens, more than --max-length \(maxLength)")
    }
    return ids
}

/// `recur train classifier`: many-to-one, a label for each text.
struct TrainClassifierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier",
        abstract: "Train a sequence classifier (many-to-one): a label for each text of a table.",
        discussion: """
            Each row of --data holds a text and its label (--text-column, --label-column; the UCI sentiment files \
            are text<TAB>label, the defaults). The text is read as words or characters, through the recurrent \
            layers (--bidirectional for both directions), pooled over time (--pooling last, mean or max), through an \
            optional tanh layer (--hidden-layer-size) to a softmax over the labels. Validation reports accuracy and \
            macro-F1, and the best checkpoint is the one with the best accuracy.
            """
    )

    @OptionGroup(title: "Data") var table: LabelledDataOptions
    @OptionGroup(title: "Model") var model: ModelOptions
    @Option(help: "How the outputs over time become one vector: last, mean or max.") var pooling: SequencePooling = .last
    @Option(help: "A tanh layer of this size before the output layer (default: none).") var hiddenLayerSize: Int?
    @Option(help: "Dropout on the token vectors.") var inputDropout: Double = 0
    @Option(help: "Dropout before the output layer.") var outputDropout: Double = 0
    @OptionGroup(title: "Optimizer") var optimizer: OptimizerOptions
    @OptionGroup(title: "Schedule") var schedule: ScheduleOptions
    @OptionGroup(title: "Run") var session: RunOptions

    @Option(help: "Cross-validate: train K models, each holding out one of K stratified folds, and report the mean ± standard deviation of their accuracy.")
    var folds: Int?

    typealias Row = (text: String, label: String, line: Int)

    func validate() throws {
        if let hiddenLayerSize { try require(hiddenLayerSize >= 1, "--hidden-layer-size must be at least 1, got \(hiddenLayerSize)") }
        try require(inputDropout >= 0 && inputDropout < 1, "--input-dropout must be in [0, 1), got \(inputDropout)")
        try require(outputDropout >= 0 && outputDropout < 1, "--output-dropout must be in [0, 1), got \(outputDropout)")
        if let folds {
            try require(folds >= 2, "--folds must be at least 2, got \(folds)")
            try require(table.valid == nil, "--folds holds out each fold in turn; it takes no --valid")
            try require(session.resume == nil, "--folds trains a model per fold; a cross-validation cannot be resumed")
        }
    }

    func run() throws {
        try session.checkOutputFolder()
        let rows = try table.rows(table.data)
        let labels = Array(Set(rows.flatMap { table.labelSet($0.label) })).sorted()
        guard labels.count >= (table.multiLabel ? 1 : 2) else {
            throw CommandFailure("\(table.data): every training example has the label \(labels.first.map { "'\($0)'" } ?? "none"); a classifier needs at least two")
        }
        if let folds {
            guard !table.multiLabel else { throw CommandFailure("--folds: cross-validation is for single-label data; give --valid or --valid-fraction") }
            return try crossValidate(rows, labels: labels, folds: folds)
        }
        var training = rows, held = try table.valid.map { try table.rows($0) } ?? []
        if table.valid == nil && table.validFraction > 0 {
            (training, held) = stratifiedSplit(rows, fraction: table.validFraction, seed: session.seed)
        }
        guard let (progress, outcome) = try train(training, held: held, heldPath: table.valid ?? table.data, labels: labels,
                                                  output: session.output) else { return }
        var summary = "saved \(session.output) at step \(progress.step)"
        if table.multiLabel, let last = progress.validationHistory.last?.metrics, let micro = last["micro_f1"] {
            summary += String(format: "; validation micro-F1 %.2f %%, subset accuracy %.2f %%", 100 * micro, 100 * (last["subset_accuracy"] ?? 0))
        }
        if let best = progress.bestValidationMetrics?["micro_f1"], let step = progress.bestStep {
            summary += String(format: "; best micro-F1 %.2f %% at step %d", 100 * best, step)
        }
        if let last = progress.validationHistory.last, let accuracy = last.metrics?["accuracy"] {
            summary += String(format: "; validation accuracy %.2f %%, macro-F1 %.2f %%", 100 * accuracy, 100 * (last.metrics?["macro_f1"] ?? 0))
        }
        if let best = progress.bestValidationMetrics?["accuracy"], let step = progress.bestStep {
            summary += String(format: "; best accuracy %.2f %% at step %d in %@", 100 * best, step,
                              TrainingFiles(checkpoint: URL(fileURLWithPath: session.output)).best.path)
        }
        print(summary + (outcome == .stoppedEarly ? " (stopped early)" : ""))
    }

    /// K-fold cross-validation: fold i's model trains on every other fold and is measured on fold i at the end of
    /// its run; prints each fold and the mean ± standard deviation, and writes them to MODEL's stem + .folds.json.
    func crossValidate(_ rows: [Row], labels: [String], folds: Int) throws {
        let assignment = stratifiedFolds(rows, folds: folds, seed: session.seed)
        guard Set(assignment).count == folds else {
            throw CommandFailure("--folds \(folds): \(table.data) has \(rows.count) examples, too few for \(folds) folds")
        }
        let output = URL(fileURLWithPath: session.output)
        let stem = output.deletingPathExtension().path, suffix = output.pathExtension.isEmpty ? "" : "." + output.pathExtension
        var results: [FoldResult] = []
        for fold in 0..<folds {
            let path = "\(stem).fold\(fold + 1)\(suffix)"
            let training = rows.indices.filter { assignment[$0] != fold }.map { rows[$0] }
            let held = rows.indices.filter { assignment[$0] == fold }.map { rows[$0] }
            FileHandle.standardError.write(Data("fold \(fold + 1) of \(folds): \(training.count) examples to train on, \(held.count) to measure\n".utf8))
            guard let (progress, _) = try train(training, held: held, heldPath: table.data, labels: labels, output: path),
                  let last = progress.validationHistory.last else { return }
            let result = FoldResult(fold: fold + 1, examples: held.count, accuracy: last.metrics?["accuracy"] ?? .nan,
                                    macroF1: last.metrics?["macro_f1"] ?? .nan, loss: last.loss, model: path)
            results.append(result)
            print(String(format: "fold %d: accuracy %.2f %%, macro-F1 %.2f %% on %d examples (%@)", result.fold, 100 * result.accuracy,
                         100 * result.macroF1, result.examples, path))
        }
        let summary = CrossValidation(folds: results, accuracy: .init(results.map(\.accuracy)), macroF1: .init(results.map(\.macroF1)))
        print(String(format: "%d-fold cross-validation: accuracy %.2f %% ± %.2f, macro-F1 %.2f %% ± %.2f", folds,
                     100 * summary.accuracy.mean, 100 * summary.accuracy.standardDeviation,
                     100 * summary.macroF1.mean, 100 * summary.macroF1.standardDeviation))
        let report = URL(fileURLWithPath: stem + ".folds.json")
        do {
            try Data((RecurJSON.line(summary) + "\n").utf8).withUnsafeBytes { try AtomicFile.write($0, to: report) }
        } catch {
            throw CommandFailure("cannot write \(report.path): \(error)")
        }
    }

    /// One fold's figures, measured on its held-out examples at the end of its run.
    struct FoldResult: Encodable {
        var fold: Int
        var examples: Int
        var accuracy: Double
        var macroF1: Double
        var loss: Double
        var model: String
    }

    /// The mean and sample standard deviation of the folds' figures.
    struct Spread: Encodable {
        var mean: Double
        var standardDeviation: Double
        init(_ values: [Double]) {
            let mean = values.reduce(0, +) / Double(max(1, values.count))
            let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            self.mean = mean
            standardDeviation = values.count > 1 ? (squares / Double(values.count - 1)).squareRoot() : 0
        }
    }

    /// What `--folds` writes to MODEL's stem + .folds.json.
    struct CrossValidation: Encodable {
        var folds: [FoldResult]
        var accuracy: Spread
        var macroF1: Spread
    }

    /// Trains one model on `rows`, validated on `held`, saved at `output`.
    /// - Returns: its progress at the end and how it ended, or nil when it was interrupted (the resume command has
    ///   been printed).
    func train(_ rows: [Row], held: [Row], heldPath: String, labels: [String],
               output: String) throws -> (progress: TrainingProgress, outcome: TrainingOutcome)? {
        let vocabulary = table.vocabulary(rows.map(\.text))
        let classIndex = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        func examples(_ rows: [Row], _ path: String) throws -> [(ids: [Int], labels: Set<Int>)] {
            try rows.map { row in
                let classes = try table.labelSet(row.label).map { label in
                    guard let index = classIndex[label] else {
                        throw CommandFailure("\(path): line \(row.line): the label '\(label)' is not one of the training labels (\(labels.joined(separator: ", ")))")
                    }
                    return index
                }
                return (try exampleIDs(row.text, vocabulary: vocabulary, maxLength: table.maxLength, path: path, line: row.line), Set(classes))
            }
        }
        func source(_ rows: [Row], _ path: String, batchSize: Int, shuffles: Bool) throws -> ClassificationExamples {
            let labelled = try examples(rows, path)
            if table.multiLabel {
                return ClassificationExamples(multiLabelExamples: labelled, classCount: labels.count, batchSize: batchSize,
                                              shuffles: shuffles, seed: session.seed)
            }
            return ClassificationExamples(examples: labelled.map { (ids: $0.ids, label: $0.labels.first!) }, batchSize: batchSize,
                                          shuffles: shuffles, seed: session.seed)
        }
        let training = try source(rows, table.data, batchSize: min(session.batchSize, rows.count), shuffles: true)
        let validation = held.isEmpty ? nil : try source(held, heldPath, batchSize: min(session.batchSize, held.count), shuffles: false)
        var crc = CRC32()
        for row in rows + held { crc.update("\(row.text)\t\(row.label)\n".utf8) }
        let options = try session.trainingOptions(optimizer: optimizer, schedule: schedule,
                                                  batchesPerEpoch: training.batchesPerEpoch,
                                                  hasValidation: validation != nil, dataChecksum: crc.value)
        let configuration = ClassifierConfiguration(
            vocabularySize: vocabulary.count, embeddingSize: model.embeddingSize,
            recurrent: model.recurrent(inputSize: model.embeddingSize ?? vocabulary.count), pooling: pooling,
            hiddenLayerSize: hiddenLayerSize, classCount: labels.count, inputDropout: inputDropout, outputDropout: outputDropout,
            multiLabel: table.multiLabel)
        if let problem = configuration.problems.first { throw CommandFailure(problem) }
        var generator = SeededGenerator(seed: session.seed)
        let trainer: Trainer<SequenceClassifier, ClassifierVocabulary>
        do {
            trainer = try Trainer(model: SequenceClassifier(configuration, using: &generator),
                                  vocabulary: ClassifierVocabulary(tokens: vocabulary, labels: labels,
                                                                    labelSeparator: table.multiLabel ? table.labelSeparator : nil),
                                  kind: SequenceClassifier.kind, training: training, validation: validation, options: options,
                                  files: TrainingFiles(checkpoint: URL(fileURLWithPath: output)), settings: session.compute.settings)
        } catch {
            throw CommandFailure("\(error)")
        }
        let description = "\(rows.count) examples (\(held.count) held out), \(labels.count) labels, \(vocabulary.count) distinct "
            + (vocabulary.level == .char ? "characters" : "words")
        guard let outcome = try runTraining(trainer, session: session, unit: "seq", description: description, output: output) else {
            return nil
        }
        return (trainer.progress, outcome)
    }
}

/// Each row's fold, 0..<folds: each label's rows, in a seeded shuffle, dealt to the folds in turn, so that every
/// fold has each label in about its share.
func stratifiedFolds(_ rows: [(text: String, label: String, line: Int)], folds: Int, seed: UInt64) -> [Int] {
    let order = epochOrder(count: rows.count, epoch: 0, shuffles: true, seed: seed ^ 0xF01D)
    var assignment = [Int](repeating: 0, count: rows.count), next = 0
    var byLabel: [String: [Int]] = [:]
    for index in order { byLabel[rows[index].label, default: []].append(index) }
    for label in byLabel.keys.sorted() {
        for index in byLabel[label]! {
            assignment[index] = next % folds
            next += 1
        }
    }
    return assignment
}

/// Holds out `fraction` of each label's rows (at least one of a label with two or more), chosen by a seeded shuffle,
/// so that validation has every label in about its share.
func stratifiedSplit(_ rows: [(text: String, label: String, line: Int)], fraction: Double, seed: UInt64)
    -> (training: [(text: String, label: String, line: Int)], held: [(text: String, label: String, line: Int)]) {
    let order = epochOrder(count: rows.count, epoch: 0, shuffles: true, seed: seed ^ 0x5EED)
    var byLabel: [String: [Int]] = [:]
    for index in order { byLabel[rows[index].label, default: []].append(index) }
    var heldIndices = Set<Int>()
    for (_, indices) in byLabel where indices.count >= 2 {
        let count = max(1, Int((Double(indices.count) * fraction).rounded()))
        heldIndices.formUnion(indices.prefix(min(count, indices.count - 1)))
    }
    return (rows.indices.filter { !heldIndices.contains($0) }.map { rows[$0] },
            rows.indices.filter { heldIndices.contains($0) }.map { rows[$0] })
}

// MARK: - classify

/// `recur classify`: the label of each text, with its probability.
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "The label of each text, by a classifier trained with recur train classifier."
    )

    @Argument(help: "The classifier.") var model: String
    @Argument(help: "Texts to classify (none: one per line from --file or standard input).") var texts: [String] = []
    @Option(help: "A file with one text per line.") var file: String?
    @Option(help: "Show the k most likely labels of each text.") var top: Int = 1
    @Option(help: "A multi-label classifier: the probability from which a label is given.") var threshold: Double = 0.5
    @Flag(help: "One JSON object per text: text, label, probability, top (each label, probability); a multi-label classifier adds labels (those at or above --threshold).")
    var json = false
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        try require(top >= 1, "--top must be at least 1, got \(top)")
        try require(threshold > 0 && threshold < 1, "--threshold must be in (0, 1), got \(threshold)")
    }

    struct Prediction: Encodable {
        struct Choice: Encodable { var label: String; var probability: Double }
        var text: String
        var label: String
        var probability: Double
        var top: [Choice]
        /// A multi-label classifier's labels at or above the threshold.
        var labels: [String]?
    }

    func run() throws {
        let loaded = try openClassifier(model)
        let all = try inputLines(texts, file: file)
        guard !all.isEmpty else { throw CommandFailure("no texts to classify") }
        let examples = try all.enumerated().map { index, text in
            (ids: try exampleIDs(text, vocabulary: loaded.vocabulary.tokens, maxLength: .max, path: file ?? "text", line: index + 1),
             label: 0)
        }
        let labels = loaded.vocabulary.labels
        // Batches of texts of about the same length (less padding), printed in the input's order.
        let order = examples.indices.sorted { examples[$0].ids.count < examples[$1].ids.count }
        var probabilities = [[Double]](repeating: [], count: examples.count)
        for start in stride(from: 0, to: order.count, by: 256) {
            let part = Array(order[start..<min(order.count, start + 256)])
            let batch = ClassificationBatch(packing: part.map { examples[$0] })
            for (offset, p) in loaded.model.probabilities(batch, settings: compute.settings).enumerated() { probabilities[part[offset]] = p }
        }
        let multiLabel = loaded.model.configuration.multiLabel
        for (index, p) in probabilities.enumerated() {
            let ranked = p.indices.sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }.prefix(top)
            let chosen = multiLabel ? p.indices.filter { p[$0] >= threshold }.map { labels[$0] } : nil
            let prediction = Prediction(text: all[index], label: labels[ranked.first!], probability: p[ranked.first!],
                                        top: ranked.map { .init(label: labels[$0], probability: p[$0]) }, labels: chosen)
            if json {
                print(RecurJSON.line(prediction))
            } else if let chosen {
                let shown = prediction.top.map { String(format: "%@ %.3f", $0.label, $0.probability) }.joined(separator: ", ")
                print("[\(chosen.joined(separator: ", "))] \(shown)\t\(prediction.text)")
            } else {
                let shown = prediction.top.map { String(format: "%@ %.3f", $0.label, $0.probability) }.joined(separator: ", ")
                print("\(shown)\t\(prediction.text)")
            }
        }
    }
}

/// Opens the classifier a command names, or fails with the file's problem.
func openClassifier(_ path: String) throws -> ClassifierFile {
    do {
        return try ClassifierFile.load(URL(fileURLWithPath: path))
    } catch {
        throw CommandFailure("\(error)")
    }
}
