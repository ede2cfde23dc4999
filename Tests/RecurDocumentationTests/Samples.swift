import Foundation
import Recur

// Every Swift block of README.md and of the articles in Sources/Recur/Recur.docc is one of the regions below,
// between `// sample: NAME` and `// end sample`, to the character (after removing the common indentation; a
// block's `import` lines stand for the imports at the top of this file). DocumentationTests checks that, and runs
// each function, so a sample that no longer compiles fails the build and one that no longer works fails a test.
// The functions take what a reader brings (a text file, a folder) as parameters.

/// README "In Swift", and the Recurrent layers article.
func layerSample() -> (outputs: [Int], last: [Int], hidden: [Int], inputGradient: [Int], gradientCount: Int) {
    // sample: layers
    var generator = SeededGenerator(seed: 42)
    let lstm = RecurrentNetwork(
        RecurrentConfiguration(cell: .lstm, inputSize: 4, hiddenSize: 5, layers: 2, bidirectional: true),
        using: &generator)
    let x = Tensor.normal([3, 2, 4], using: &generator)           // [T, B, D]: 3 steps, 2 sequences
    let y = lstm(x, lengths: [3, 1])                              // inference: no caches, no dropout
    // y.outputs [3, 2, 10] (zero past each length), y.last [2, 10], y.state.hidden [4, 2, 5]

    var dropout = SeededGenerator(seed: 1)
    let (output, tape) = lstm.forward(x, lengths: [3, 1], dropoutGenerator: &dropout)   // training
    let gradient = lstm.backward(tape, lastGradient: .ones(output.last.shape))        // many-to-one loss Σ last
    // gradient.input [3, 2, 4]; every lstm.parameters[i].gradient has been added to
    // end sample
    let nonZero = lstm.parameters.filter { $0.gradient.scalars.contains { $0 != 0 } }.count
    return (y.outputs.shape, y.last.shape, y.state.hidden.shape, gradient.input?.shape ?? [], nonZero)
}

/// The Recurrent layers article: a loss on top of the network.
func lossSample() -> (loss: Double, hiddenGradient: [Int], decoderGradient: Float) {
    let vocabularySize = 7
    var setup = SeededGenerator(seed: 3)
    let network = RecurrentNetwork(RecurrentConfiguration(cell: .gru, inputSize: 4, hiddenSize: 256), using: &setup)
    let lengths = [3, 2]
    let (output, tape) = network.forward(Tensor.normal([3, 2, 4], using: &setup), lengths: lengths,
                                         dropoutGenerator: &setup)
    let targets = [1, 4, 4, 2, 0, 5]                                     // [T·B], position t·B + b
    // sample: loss
    var generator = SeededGenerator(seed: 0)
    let decoder = Linear(inputSize: 256, outputSize: vocabularySize, namePrefix: "decoder.", using: &generator)
    let (loss, hiddenGradient) = SoftmaxCrossEntropy(reduction: .meanPerToken)
        .lossAndGradient(hidden: output.outputs, targets: targets, lengths: lengths, output: decoder)
    // decoder.weight.gradient and decoder.bias.gradient now hold dL/dW and dL/db;
    // hiddenGradient [T, B, 256] goes into network.backward(tape, outputGradient: hiddenGradient).
    // end sample
    _ = network.backward(tape, outputGradient: hiddenGradient)
    return (loss.value, hiddenGradient.shape, decoder.weight.gradient.scalars.map(abs).max() ?? 0)
}

/// Getting started: a character-level language model trained on a text file, then sampled and scored.
func gettingStartedSample(corpus: URL, folder: URL) throws -> (outcome: TrainingOutcome, sample: String, ranked: [String]) {
    let epochs = 1
    // sample: getting-started-train
    let text = try TextFile.read(corpus.path)
    let vocabulary = Vocabulary(characters: text)
    let tokens = try vocabulary.encode(text)
    let split = tokens.count * 9 / 10                                    // the last 10 % for validation
    var generator = SeededGenerator(seed: 0)
    let model = LanguageModel(LanguageModelConfiguration(
        vocabularySize: vocabulary.count, embeddingSize: nil,            // nil: one-hot input, as in the course
        recurrent: RecurrentConfiguration(cell: .lstm, inputSize: vocabulary.count, hiddenSize: 128),
        startToken: "\n"),                                               // read before the first character
        using: &generator)
    let options = TrainingOptions(epochs: epochs, learningRate: 2e-3, optimizer: .init(kind: .adam),
                                  clipping: .norm(5), validateEvery: 100, checkpointEvery: 100)
    let trainer = try Trainer(
        model: model, vocabulary: vocabulary, kind: LanguageModel.kind,
        training: TokenStream(tokens: Array(tokens[..<split]), batchSize: 16, sequenceLength: 64),
        validation: TokenStream(tokens: Array(tokens[split...]), batchSize: 4, sequenceLength: 64),
        options: options, files: TrainingFiles(checkpoint: folder.appendingPathComponent("notes.recur")))
    trainer.onRecord = { record in print(record.event, record.step, record.loss) }
    let outcome = try trainer.run()                                      // .finished, .interrupted or .stoppedEarly
    // end sample

    // sample: getting-started-use
    let sampler = Sampler(model: model, start: model.startID(in: vocabulary.tokens))
    sampler.prime(try vocabulary.encode("The "))
    var draws = SeededGenerator(seed: 7)
    let ids = (0..<200).map { _ in sampler.next(SamplingOptions(temperature: 0.8), using: &draws) }
    print("The " + vocabulary.decode(ids))

    let sentences = ["The apple and pear salad.", "The apple and pair salad."]
    let scores = model.tokenLogProbabilities(try sentences.map { try vocabulary.encodeSentence($0) },
                                             start: model.startID(in: vocabulary.tokens))
    for (sentence, values) in zip(sentences, scores) {
        print(sentence, "log P =", values.reduce(0, +))                  // natural log, end token included
    }
    // end sample
    let ranked = zip(sentences, scores).sorted { $0.1.reduce(0, +) > $1.1.reduce(0, +) }.map(\.0)
    return (outcome, vocabulary.decode(ids), ranked)
}

/// Getting started: opening a model file that `recur train` wrote.
func openingSample(path: String) throws -> (vocabularySize: Int, step: Int?) {
    // sample: getting-started-open
    let file = try LanguageModelFile.load(URL(fileURLWithPath: path))
    print(file.vocabulary.count, "tokens,", file.model.parameterCount, "parameters")
    print("trained for", file.document.training?.progress.step ?? 0, "steps")
    // end sample
    return (file.vocabulary.count, file.document.training?.progress.step)
}

/// The Training article: a run that resumes from its checkpoint and stops when asked.
func resumingSample(model: LanguageModel, vocabulary: Vocabulary, training: [Int], validation: [Int], folder: URL,
                    stopRequested: () -> Bool) throws -> (outcome: TrainingOutcome, step: Int) {
    // sample: training-resume
    let checkpoint = folder.appendingPathComponent("model.recur")
    let options = TrainingOptions(
        steps: 2_000, learningRate: 3e-3,
        schedule: .warmupCosine(warmupSteps: 100, totalSteps: 2_000, minimum: 1e-4),
        optimizer: .init(kind: .adamw, weightDecay: 0.01), clipping: .norm(5),
        validateEvery: 200, earlyStoppingPatience: 5, checkpointEvery: 100)
    let trainer = try Trainer(
        model: model, vocabulary: vocabulary, kind: LanguageModel.kind,
        training: TokenStream(tokens: training, batchSize: 32, sequenceLength: 64),
        validation: TokenStream(tokens: validation, batchSize: 8, sequenceLength: 64),
        options: options, files: TrainingFiles(checkpoint: checkpoint))
    if FileManager.default.fileExists(atPath: checkpoint.path) {
        try trainer.resume(from: checkpoint)                             // weights, optimizer, step, generators
    }
    let outcome = try trainer.run(shouldStop: { stopRequested() })       // saves before it returns
    // end sample
    return (outcome, trainer.progress.step)
}

/// The Classifiers article: a classifier trained in Swift, and its metrics.
func classifierSample(texts: [String], labels: [String], folder: URL) throws -> ClassificationMetrics {
    // sample: classifier
    let classes = Array(Set(labels)).sorted()                            // ["neg", "pos"]
    var counter = TokenCounter(level: .word, lowercases: true)
    texts.forEach { counter.add($0 + "\n") }
    let vocabulary = Vocabulary(words: counter)
    let examples = try zip(texts, labels).map { text, label in
        (ids: Array(try vocabulary.encode(text).dropLast()),             // the words, without <eos>
         label: classes.firstIndex(of: label)!)
    }
    var generator = SeededGenerator(seed: 0)
    let model = SequenceClassifier(ClassifierConfiguration(
        vocabularySize: vocabulary.count, embeddingSize: 16,
        recurrent: RecurrentConfiguration(cell: .lstm, inputSize: 16, hiddenSize: 32, bidirectional: true),
        pooling: .max, classCount: classes.count, outputDropout: 0.2), using: &generator)
    let split = examples.count * 4 / 5
    let trainer = try Trainer(
        model: model, vocabulary: ClassifierVocabulary(tokens: vocabulary, labels: classes), kind: SequenceClassifier.kind,
        training: ClassificationExamples(examples: Array(examples[..<split]), batchSize: 16),
        validation: ClassificationExamples(examples: Array(examples[split...]), batchSize: 64, shuffles: false),
        options: TrainingOptions(epochs: 5, learningRate: 0.005, clipping: .norm(5), validateEvery: 20),
        files: TrainingFiles(checkpoint: folder.appendingPathComponent("reviews.recur")))
    try trainer.run()                                                    // the best checkpoint has the best accuracy
    let (metrics, _) = model.classificationMetrics(
        ClassificationExamples(examples: Array(examples[split...]), batchSize: 64, shuffles: false), labels: classes)
    print(metrics.text())                                                // accuracy, per-class scores, confusion
    // end sample
    return metrics
}

func taggerSample(folder: URL) throws -> [String] {
    // sample: tagger
    let sentences = [(["Harry", "Potter", "met", "Hermione"], ["B-PER", "I-PER", "O", "B-PER"]),
                     (["Ron", "visited", "London"], ["B-PER", "O", "B-LOC"])]
    var words = TokenCounter(level: .word), characters = TokenCounter(level: .char)
    for (tokens, _) in sentences {
        words.add(tokens.joined(separator: " ") + "\n")
        characters.add(tokens.joined())
    }
    let vocabulary = TaggerVocabulary(words: Vocabulary(words: words),
                                      characters: Vocabulary(characters: characters, unknownToken: "\u{FFFD}"),
                                      dataScheme: .bio2)
    let tags = TagEncoding.tags(of: sentences.map { $0.1 }, scheme: .iobes)  // O, B-LOC, I-LOC, E-LOC, S-LOC, B-PER, …
    let encoding = TagEncoding(tags: tags, scheme: .iobes)
    let examples = sentences.map { tokens, labels in
        vocabulary.sentence(tokens, tagIDs: encoding.encode(labels, dataScheme: .bio2).ids)
    }
    var generator = SeededGenerator(seed: 0)
    let model = SequenceTagger(TaggerConfiguration(
        vocabularySize: vocabulary.words.count, embeddingSize: 16, unknownWordID: vocabulary.words.unknownID!,
        characters: CharacterFeatures(vocabularySize: vocabulary.characters!.count, embeddingSize: 8,
            recurrent: RecurrentConfiguration(cell: .lstm, inputSize: 8, hiddenSize: 8, bidirectional: true)),
        recurrent: RecurrentConfiguration(cell: .lstm, inputSize: 16 + 16, hiddenSize: 32, bidirectional: true),
        tags: tags, scheme: .iobes, outputLayer: .crf), using: &generator)
    let trainer = try Trainer(
        model: model, vocabulary: vocabulary, kind: SequenceTagger.kind,
        training: TaggedExamples(sentences: examples, batchSize: 2),
        validation: TaggedExamples(sentences: examples, batchSize: 2, shuffles: false),
        options: TrainingOptions(steps: 60, learningRate: 0.01, clipping: .norm(5), validateEvery: 20),
        files: TrainingFiles(checkpoint: folder.appendingPathComponent("ner.recur")))
    try trainer.run()                                                     // the best checkpoint has the best F1
    let paths = model.decode(TaggingBatch(packing: [vocabulary.sentence(["Hermione", "visited", "London"])]))
    print(encoding.decode(paths[0], as: .bio2))                           // ["B-PER", "O", "B-LOC"] once trained
    // end sample
    return encoding.decode(paths[0], as: .bio2)
}
