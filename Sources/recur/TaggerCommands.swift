import ArgumentParser
import Foundation
import Recur

extension TagScheme: ExpressibleByArgument {}
extension TaggerOutputLayer: ExpressibleByArgument {}

/// Where a tagger's tagged sentences come from: `recur train tagger`'s data options.
struct TaggedDataOptions: ParsableArguments {
    @Option(help: "Tagged training sentences in CoNLL's column format (a token per line, a blank line between sentences).")
    var data: String
    @Option(help: "Tagged validation sentences (default: --valid-fraction of --data).") var valid: String?
    @Option(help: "Fraction of --data's sentences held out for validation when --valid is not given (0 for none).")
    var validFraction: Double = 0.1
    @Option(help: "The column of the token, counting from 1.") var tokenColumn: Int = 1
    @Option(help: "The column of the tag, counting from 1 (default: the last).") var tagColumn: Int?
    @Option(help: "The data's tag scheme: iob1, bio2 or iobes (default: detected from the tags).") var tagScheme: TagScheme?
    @Flag(help: "Lowercase words before looking them up (characters keep their case).") var lowercase = false
    @Option(help: "Keep at most this many words (the unknown word included).") var maxVocabularySize: Int?
    @Option(help: "Words seen fewer times become the unknown word.") var minCount: Int = 1
    @Option(help: "The most tokens a sentence may have.") var maxLength: Int = 1000

    func validate() throws {
        try require(tokenColumn >= 1, "--token-column counts from 1, got \(tokenColumn)")
        if let tagColumn {
            try require(tagColumn >= 1, "--tag-column counts from 1, got \(tagColumn)")
            try require(tagColumn != tokenColumn, "--token-column and --tag-column must differ, both are \(tagColumn)")
        }
        try require(validFraction >= 0 && validFraction < 1, "--valid-fraction must be in [0, 1), got \(validFraction)")
        if let maxVocabularySize { try require(maxVocabularySize >= 3, "--max-vocabulary-size must be at least 3, got \(maxVocabularySize)") }
        try require(minCount >= 1, "--min-count must be at least 1, got \(minCount)")
        try require(maxLength >= 1, "--max-length must be at least 1, got \(maxLength)")
    }

    /// The tagged sentences of `path`, each checked against `--max-length`.
    func sentences(_ path: String) throws -> [CoNLLFile.Sentence] {
        try readTaggedSentences(path, tokenColumn: tokenColumn, tagColumn: tagColumn, maxLength: maxLength)
    }
}

/// The tagged sentences of a CoNLL file, or a message naming the file and line.
func readTaggedSentences(_ path: String, tokenColumn: Int, tagColumn: Int?, maxLength: Int = .max) throws -> [CoNLLFile.Sentence] {
    let file: CoNLLFile
    do {
        file = try CoNLLFile.read(path, columns: .init(token: tokenColumn - 1, tag: tagColumn.map { $0 - 1 }))
    } catch {
        throw CommandFailure("\(error)")
    }
    for sentence in file.sentences where sentence.tokens.count > maxLength {
        throw CommandFailure("\(path): line \(sentence.line): a sentence of \(sentence.tokens.count) tokens, more than --max-length \(maxLength)")
    }
    for sentence in file.sentences {
        for (offset, tag) in sentence.tags!.enumerated() where TagScheme.Tag(tag) == nil {
            throw CommandFailure("\(path): line \(sentence.line + offset): the tag '\(tag)' is not O or B-, I-, E- or S- and a type")
        }
    }
    return file.sentences
}

/// `recur train tagger`: many-to-many, a tag for every token.
struct TrainTaggerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tagger",
        abstract: "Train a sequence tagger (many-to-many): a tag for every token, e.g. named entities (BiLSTM-CRF).",
        discussion: """
            --data holds sentences in CoNLL's column format, the token in --token-column and the tag in --tag-column \
            (the last by default), tags in IOB1, BIO2 or IOBES (detected, or --tag-scheme). Each word's vector \
            (--embedding-size, or read from --embeddings) is joined by a vector of its spelling from a \
            bidirectional network over its characters (--character-hidden-size, 0 for none), read by the recurrent \
            layers (--bidirectional for both directions) and scored per tag; a CRF scores whole tag \
            paths (--output-layer crf, the default) and decodes with Viterbi, forbidding what the tag scheme forbids (unless --unconstrained). \
            Validation reports entity F1 as conlleval counts it, and the best checkpoint is the one with the best F1.
            """
    )

    @OptionGroup(title: "Data") var data: TaggedDataOptions
    @OptionGroup(title: "Model") var model: ModelOptions
    @Option(help: "Size of each character's vector.") var characterEmbeddingSize: Int = 25
    @Option(help: "Hidden units of the bidirectional network over each word's characters (0: no character features).")
    var characterHiddenSize: Int = 25
    @Option(help: "crf (tag paths, Viterbi) or softmax (each tag on its own).") var outputLayer: TaggerOutputLayer = .crf
    @Flag(help: "Let the CRF take transitions the tag scheme forbids.") var unconstrained = false
    @Option(help: "The scheme the model's tags are written in: iob1, bio2 or iobes.") var modelTagScheme: TagScheme = .iobes
    @Option(help: "Dropout on the word and character vectors.") var inputDropout: Double = 0.5
    @Option(help: "Dropout before the tag scores.") var outputDropout: Double = 0
    @Option(help: "Probability of reading a training word as the unknown word.") var wordDropout: Double = 0
    @Option(help: "Pretrained word vectors, GloVe or word2vec text (a word and its numbers per line).") var embeddings: String?
    @Flag(help: "Keep the --embeddings vectors as they are (train the rest).") var freezeEmbeddings = false
    @OptionGroup(title: "Optimizer") var optimizer: OptimizerOptions
    @OptionGroup(title: "Schedule") var schedule: ScheduleOptions
    @OptionGroup(title: "Run") var session: RunOptions

    func validate() throws {
        try require(characterEmbeddingSize >= 1, "--character-embedding-size must be at least 1, got \(characterEmbeddingSize)")
        try require(characterHiddenSize >= 0, "--character-hidden-size must be 0 or more, got \(characterHiddenSize)")
        for (name, p) in [("--input-dropout", inputDropout), ("--output-dropout", outputDropout), ("--word-dropout", wordDropout)] {
            try require(p >= 0 && p < 1, "\(name) must be in [0, 1), got \(p)")
        }
        try require(!freezeEmbeddings || embeddings != nil, "--freeze-embeddings keeps the vectors of --embeddings; give --embeddings")
        try require(!unconstrained || outputLayer == .crf, "--unconstrained is for --output-layer crf")
    }

    func run() throws {
        try session.checkOutputFolder()
        var training = try data.sentences(data.data)
        var held = try data.valid.map { try data.sentences($0) } ?? []
        if data.valid == nil && data.validFraction > 0 && training.count >= 2 {
            let order = epochOrder(count: training.count, epoch: 0, shuffles: true, seed: session.seed ^ 0x5EED)
            let count = min(training.count - 1, max(1, Int((Double(training.count) * data.validFraction).rounded())))
            let heldIndices = Set(order.prefix(count))
            held = training.indices.filter { heldIndices.contains($0) }.map { training[$0] }
            training = training.indices.filter { !heldIndices.contains($0) }.map { training[$0] }
        }
        let dataScheme = data.tagScheme ?? TagScheme.detect(training.map { $0.tags! })
        let tags = TagEncoding.tags(of: training.map { $0.tags! }, scheme: modelTagScheme)
        guard tags.count >= 2 else {
            throw CommandFailure("\(data.data): every token has the tag O; a tagger needs at least one entity to learn")
        }
        let encoding = TagEncoding(tags: tags, scheme: modelTagScheme)

        var words = TokenCounter(level: .word, lowercases: data.lowercase)
        for sentence in training { words.add(sentence.tokens.joined(separator: " ") + "\n") }
        let wordVocabulary = Vocabulary(words: words, maximumSize: data.maxVocabularySize, minimumCount: data.minCount)
        var characterVocabulary: Vocabulary?
        if characterHiddenSize > 0 {
            var characters = TokenCounter(level: .char)
            for sentence in training { characters.add(sentence.tokens.joined()) }
            characterVocabulary = Vocabulary(characters: characters, unknownToken: "\u{FFFD}")
        }
        let vocabulary = TaggerVocabulary(words: wordVocabulary, characters: characterVocabulary, dataScheme: dataScheme)

        var repaired = 0, unknownTags = 0
        func encoded(_ sentences: [CoNLLFile.Sentence]) -> [TaggedSentence] {
            sentences.map { sentence in
                let (ids, changed) = encoding.encode(sentence.tags!, dataScheme: dataScheme)
                repaired += changed
                unknownTags += ids.filter { $0 < 0 }.count
                return vocabulary.sentence(sentence.tokens, tagIDs: ids)
            }
        }
        let trainingSentences = encoded(training), heldSentences = encoded(held)
        if repaired > 0 {
            FileHandle.standardError.write(Data("recur: \(repaired) tags broke the \(dataScheme.rawValue) scheme and were read as conlleval reads them\n".utf8))
        }
        if unknownTags > 0 {
            FileHandle.standardError.write(Data("recur: \(unknownTags) validation tokens have an entity type training never saw (scored as missed)\n".utf8))
        }

        var vectors: WordVectors?
        if let embeddings {
            do {
                let wanted = Set(wordVocabulary.tokens.flatMap { [$0, $0.lowercased()] })
                vectors = try WordVectors.read(embeddings, keeping: wanted)
            } catch {
                throw CommandFailure("--embeddings: \(error)")
            }
            if let vectors, let size = model.embeddingSize, size != vectors.dimension {
                throw CommandFailure("--embeddings \(embeddings) has vectors of \(vectors.dimension) numbers but --embedding-size is \(size)")
            }
        }
        let embeddingSize = vectors?.dimension ?? model.embeddingSize ?? 100
        let characters = characterVocabulary.map {
            CharacterFeatures(vocabularySize: $0.count, embeddingSize: characterEmbeddingSize,
                              recurrent: RecurrentConfiguration(cell: model.cell, inputSize: characterEmbeddingSize,
                                                                hiddenSize: characterHiddenSize, bidirectional: true,
                                                                gruVariant: model.gruVariant))
        }
        let configuration = TaggerConfiguration(
            vocabularySize: wordVocabulary.count, embeddingSize: embeddingSize, unknownWordID: wordVocabulary.unknownID!,
            characters: characters,
            recurrent: model.recurrent(inputSize: embeddingSize + (characters?.recurrent.outputSize ?? 0)),
            tags: tags, scheme: modelTagScheme, outputLayer: outputLayer, constrainsTransitions: !unconstrained,
            inputDropout: inputDropout, outputDropout: outputDropout, wordDropout: wordDropout)
        if let problem = configuration.problems.first { throw CommandFailure(problem) }
        var generator = SeededGenerator(seed: session.seed)
        let tagger = SequenceTagger(configuration, using: &generator)
        if let vectors {
            let found = tagger.loadWordVectors(vectors.vectors, vocabulary: wordVocabulary)
            tagger.embedding.weight.isFrozen = freezeEmbeddings
            FileHandle.standardError.write(Data("recur: --embeddings gave vectors to \(found) of \(wordVocabulary.count) words\(freezeEmbeddings ? " (frozen)" : "")\n".utf8))
        }

        let trainingSource = TaggedExamples(sentences: trainingSentences, batchSize: min(session.batchSize, trainingSentences.count),
                                            seed: session.seed)
        let validation = heldSentences.isEmpty ? nil
            : TaggedExamples(sentences: heldSentences, batchSize: min(64, heldSentences.count), shuffles: false)
        var crc = CRC32()
        for sentence in training + held {
            for (token, tag) in zip(sentence.tokens, sentence.tags!) { crc.update("\(token) \(tag)\n".utf8) }
            crc.update("\n".utf8)
        }
        let options = try session.trainingOptions(optimizer: optimizer, schedule: schedule, batchesPerEpoch: trainingSource.batchesPerEpoch,
                                                  hasValidation: validation != nil, dataChecksum: crc.value)
        let trainer: Trainer<SequenceTagger, TaggerVocabulary>
        do {
            trainer = try Trainer(model: tagger, vocabulary: vocabulary, kind: SequenceTagger.kind, training: trainingSource,
                                  validation: validation, options: options,
                                  files: TrainingFiles(checkpoint: URL(fileURLWithPath: session.output)), settings: session.compute.settings)
        } catch {
            throw CommandFailure("\(error)")
        }
        let tokens = training.reduce(0) { $0 + $1.tokens.count }
        let description = "\(training.count) sentences, \(tokens) tokens (\(held.count) sentences held out), \(tags.count) tags "
            + "(\(dataScheme.rawValue) data, \(modelTagScheme.rawValue) model), \(wordVocabulary.count) words"
        guard let outcome = try runTraining(trainer, session: session, unit: "tok", description: description, output: session.output) else {
            return
        }
        let progress = trainer.progress
        var summary = "saved \(session.output) at step \(progress.step)"
        if let last = progress.validationHistory.last, let f1 = last.metrics?["f1"] {
            summary += String(format: "; validation entity F1 %.2f %%", 100 * f1)
        }
        if let best = progress.bestValidationMetrics?["f1"], let step = progress.bestStep {
            summary += String(format: "; best F1 %.2f %% at step %d in %@", 100 * best, step,
                              TrainingFiles(checkpoint: URL(fileURLWithPath: session.output)).best.path)
        }
        print(summary + (outcome == .stoppedEarly ? " (stopped early)" : ""))
    }
}

// MARK: - tag

/// How `recur tag` reads its input.
enum TagInputFormat: String, CaseIterable, ExpressibleByArgument {
    /// A sentence per line (or argument), split into tokens at spaces with punctuation split off.
    case text
    /// A CoNLL file's token column.
    case conll
}

/// How `recur tag` writes its output.
enum TagOutputFormat: String, CaseIterable, ExpressibleByArgument {
    /// `[PER Harry Potter] and …`.
    case inline
    /// `token<TAB>tag` lines, a blank line after each sentence.
    case conll
    /// One JSON object per sentence: tokens, tags, entities.
    case json
}

/// `recur tag`: a tag for every token, and the entities they mark.
struct TagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tag",
        abstract: "The tags and entities of each sentence, by a tagger trained with recur train tagger.",
        discussion: """
            Each argument, or each line of --file (or standard input), is a sentence; its tokens are split at spaces, \
            with punctuation at either end of a word split off ("spell." is spell and .). --input-format conll reads \
            the token column of a CoNLL file instead. Tags are written in the scheme of the model's training data.
            """
    )

    @Argument(help: "The tagger.") var model: String
    @Argument(help: "Sentences to tag (none: --file or standard input).") var texts: [String] = []
    @Option(help: "A file of sentences.") var file: String?
    @Option(help: "text (a sentence per line) or conll (the token column of a CoNLL file).") var inputFormat: TagInputFormat = .text
    @Option(help: "conll input: the column of the token, counting from 1.") var tokenColumn: Int = 1
    @Option(help: "inline ([PER Harry Potter] and …), conll (token<TAB>tag lines) or json.") var format: TagOutputFormat = .inline
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        try require(tokenColumn >= 1, "--token-column counts from 1, got \(tokenColumn)")
        try require(inputFormat == .text || file != nil, "--input-format conll reads --file")
    }

    struct Entity: Encodable {
        var type: String
        var start: Int
        var end: Int
        var text: String
    }

    struct Tagged: Encodable {
        var tokens: [String]
        var tags: [String]
        var entities: [Entity]
    }

    func run() throws {
        let loaded = try openTagger(model)
        let sentences: [[String]]
        if inputFormat == .conll, let file {
            do {
                sentences = try CoNLLFile.read(file, columns: .init(token: tokenColumn - 1, readsTags: false)).sentences.map(\.tokens)
            } catch {
                throw CommandFailure("\(error)")
            }
        } else {
            sentences = try inputLines(texts, file: file).map(TaggerFile.tokens).filter { !$0.isEmpty }
        }
        guard !sentences.isEmpty else { throw CommandFailure("no sentences to tag") }
        let tags = loaded.tag(sentences, settings: compute.settings)
        for (tokens, tags) in zip(sentences, tags) {
            let chunks = TagScheme.chunks(tags)
            switch format {
            case .inline:
                var pieces: [String] = [], index = 0
                for chunk in chunks {
                    pieces += tokens[index..<chunk.start]
                    pieces.append("[\(chunk.type) " + tokens[chunk.start...chunk.end].joined(separator: " ") + "]")
                    index = chunk.end + 1
                }
                pieces += tokens[index...]
                print(pieces.joined(separator: " "))
            case .conll:
                for (token, tag) in zip(tokens, tags) { print("\(token)\t\(tag)") }
                print("")
            case .json:
                print(RecurJSON.line(Tagged(tokens: tokens, tags: tags, entities: chunks.map {
                    Entity(type: $0.type, start: $0.start, end: $0.end, text: tokens[$0.start...$0.end].joined(separator: " "))
                })))
            }
        }
    }
}

/// Opens the tagger a command names, or fails with the file's problem.
func openTagger(_ path: String) throws -> TaggerFile {
    do {
        return try TaggerFile.load(URL(fileURLWithPath: path))
    } catch {
        throw CommandFailure("\(error)")
    }
}
