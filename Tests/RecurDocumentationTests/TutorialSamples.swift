import Foundation
import Recur

// The tutorial's steps (Sources/Recur/Recur.docc/DinosaurNames.md), in order; see Samples.swift for the rules.

struct DinosaurTutorialResult {
    var vocabularySize: Int
    var firstSmoothedLoss: Double
    var lastSmoothedLoss: Double
    var names: [String]
}

func dinosaurTutorial(namesFile: URL, folder: URL, steps: Int) throws -> DinosaurTutorialResult {
    // sample: tutorial-data
    let text = try TextFile.read(namesFile.path).lowercased()
    let vocabulary = Vocabulary(characters: text)                       // "\n", then "a" … "z": 27 characters
    let newline = vocabulary.endID
    let examples = try text.split(separator: "\n").map { name in
        let ids = try vocabulary.encode(String(name))
        return (inputs: [-1] + ids, targets: ids + [newline])            // x<1> = 0, then each character
    }
    // end sample

    // sample: tutorial-model
    var generator = SeededGenerator(seed: 1)
    let model = LanguageModel(LanguageModelConfiguration(
        vocabularySize: vocabulary.count, embeddingSize: nil,            // one-hot x<t>
        recurrent: RecurrentConfiguration(cell: .rnn, inputSize: vocabulary.count, hiddenSize: 50),
        initialization: .normal(standardDeviation: 0.01)),               // the course's randn · 0.01
        using: &generator)
    // end sample

    // sample: tutorial-train
    let options = TrainingOptions(steps: steps, learningRate: 0.01, optimizer: .init(kind: .sgd),
                                  clipping: .value(5), reduction: .sum, logEvery: 1)
    let trainer = try Trainer(
        model: model, vocabulary: vocabulary, kind: LanguageModel.kind,
        training: SequenceExamples(examples: examples, batchSize: 1, seed: 0, carriesState: true),
        options: options, files: TrainingFiles(checkpoint: folder.appendingPathComponent("dinos.recur")),
        settings: ComputeSettings(threadCount: 1))
    var smoothed = -log(1.0 / Double(vocabulary.count)) * 7              // the course's starting value
    trainer.onRecord = { record in
        smoothed = 0.999 * smoothed + 0.001 * record.loss
        if record.step % 2000 == 0 { print("step", record.step, "smoothed loss", smoothed) }
    }
    try trainer.run()
    // end sample
    let last = smoothed

    // sample: tutorial-sample
    var draws = SeededGenerator(seed: 2)
    var names: [String] = []
    for _ in 0..<7 {
        let sampler = Sampler(model: model, start: -1)                   // a<0> = 0 and x<1> = 0
        var name: [Int] = []
        while name.count < 50 {
            let id = sampler.next(SamplingOptions(), using: &draws)
            if id == newline { break }
            name.append(id)
        }
        names.append(vocabulary.decode(name).capitalized)
    }
    print(names.joined(separator: "\n"))
    // end sample
    return DinosaurTutorialResult(vocabularySize: vocabulary.count, firstSmoothedLoss: -log(1.0 / 27) * 7,
                                  lastSmoothedLoss: last, names: names)
}
