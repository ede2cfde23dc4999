import Foundation
import Testing
import RecurTestSupport

/// Models trained once for the tests below: characters (stream) and words (lines), on text of our own.
private enum TrainedModels {
    static let folder = SharedTestFolder.make("cli-models")

    static let text = (0..<60).map { i in
        ["the apple and pear salad is good .", "a pear and an apple make a salad .", "the salad has a pear in it ."][i % 3]
    }.joined(separator: "\n") + "\n"

    struct TrainingFailed: Error, CustomStringConvertible { var description: String }

    static func train(_ name: String, _ extra: [String]) throws -> String {
        let data = folder.appendingPathComponent("text.txt")
        try Data(text.utf8).write(to: data)
        let model = folder.appendingPathComponent(name).path
        let result = try RecurBinary.run(["train", "--data", data.path, "--hidden-size", "32", "--steps", "150",
                                          "--learning-rate", "0.01", "--threads", "1", "--quiet", "--output", model] + extra)
        guard result.status == 0 else { throw TrainingFailed(description: "recur train \(name): \(result.standardError)") }
        return model
    }

    /// Trained on first use; a failure fails each test that needs the model, not the whole run.
    private static let trainedCharacters = Result {
        try train("chars.recur", ["--batch-size", "4", "--sequence-length", "32", "--validate-every", "50"])
    }
    private static let trainedWords = Result {
        try train("words.recur", ["--level", "word", "--layout", "lines", "--embedding-size", "8", "--batch-size", "8"])
    }
    static var characters: String { get throws { try trainedCharacters.get() } }
    static var words: String { get throws { try trainedWords.get() } }
}

@Suite("recur sample, score, eval, inspect", .serialized)
struct ModelCommandTests {
    @Test("score ranks sentences, most likely first; --json has the documented keys")
    func score() throws {
        let model = try TrainedModels.characters
        let result = try RecurBinary.run(["score", model, "the apple and paer salad is good .", "the apple and pear salad is good ."])
        #expect(result.status == 0, "\(result.standardError)")
        let lines = result.standardOutput.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].hasPrefix("1. log P = ") && lines[0].hasSuffix("pear salad is good ."))
        let json = try RecurBinary.run(["score", model, "--json", "a pear", "a salad"])
        let objects = try json.standardOutput.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(objects.count == 2)
        for object in objects {
            #expect(Set(object.keys) == ["sentence", "log_probability", "tokens", "perplexity", "average_log_probability", "rank",
                                         "skipped_tokens"])
        }
        #expect(objects[0]["tokens"] as? Int == 7, "six characters and the end token")
        let logP = objects[0]["log_probability"] as! Double, perplexity = objects[0]["perplexity"] as! Double
        #expect(abs(perplexity - exp(-logP / 7)) < 1e-9 * perplexity)
    }

    @Test("score reads sentences from --file or standard input; an unknown character is named")
    func scoreInputs() throws {
        let model = try TrainedModels.characters
        let file = TrainedModels.folder.appendingPathComponent("sentences.txt")
        try Data("a pear\na salad\n".utf8).write(to: file)
        let fromFile = try RecurBinary.run(["score", model, "--file", file.path])
        #expect(fromFile.standardOutput.split(separator: "\n").count == 2)
        let process = Process()
        process.executableURL = try RecurBinary.url
        process.arguments = ["score", model, "--json"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data("a pear\n".utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("\"sentence\":\"a pear\""))
        let unknown = try RecurBinary.run(["score", model, "a pear!"])
        #expect(unknown.status == 1 && unknown.standardError.contains("sentence 1 (\"a pear!\"): U+21 \"!\" at token 6 is not in the vocabulary"),
                "\(unknown.standardError)")
    }

    @Test("eval prints loss, perplexity and bits per character; --json has the documented keys")
    func eval() throws {
        let data = TrainedModels.folder.appendingPathComponent("text.txt").path
        for model in [try TrainedModels.characters, try TrainedModels.words] {
            let result = try RecurBinary.run(["eval", model, "--data", data, "--json"])
            #expect(result.status == 0, "\(result.standardError)")
            let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as! [String: Any]
            #expect(Set(object.keys) == ["loss", "perplexity", "bits_per_character", "tokens", "skipped_tokens", "skipped"])
            let loss = object["loss"] as! Double
            #expect(loss > 0 && loss < 2, "the model has learned its three sentences: \(loss)")
            #expect(abs((object["perplexity"] as! Double) - exp(loss)) < 1e-9 * exp(loss))
        }
        let words = try RecurBinary.run(["eval", try TrainedModels.words, "--data", data, "--json"])
        let tokens = (try JSONSerialization.jsonObject(with: Data(words.standardOutput.utf8)) as! [String: Any])["tokens"] as! Int
        #expect(tokens == 20 * (8 + 9 + 8) + 60, "words plus <eos> per line")
    }

    @Test("--skip-unknown: eval and score leave out characters the model never saw, say which, and score the rest as if they were not there")
    func skipUnknown() throws {
        let model = try TrainedModels.characters
        let folder = TrainedModels.folder
        let withUnknown = folder.appendingPathComponent("unknown.txt"), without = folder.appendingPathComponent("known.txt")
        try Data("the äpple and pear salad is good!\nthé salad ä\n".utf8).write(to: withUnknown)
        try Data("the pple and pear salad is good\nth salad \n".utf8).write(to: without)

        let refused = try RecurBinary.run(["eval", model, "--data", withUnknown.path])
        #expect(refused.status == 1 && refused.standardError.contains(withUnknown.path)
                && refused.standardError.contains("U+E4 \"ä\"") && refused.standardError.contains("--skip-unknown"),
                "\(refused.standardError)")

        let skipped = try RecurBinary.run(["eval", model, "--data", withUnknown.path, "--skip-unknown", "--json"])
        #expect(skipped.status == 0, "\(skipped.standardError)")
        #expect(skipped.standardError.contains("left out 4 tokens the model has never seen: U+E4 \"ä\" ×2, U+21 \"!\", U+E9 \"é\""),
                "\(skipped.standardError)")
        let reference = try RecurBinary.run(["eval", model, "--data", without.path, "--json"])
        let a = try JSONSerialization.jsonObject(with: Data(skipped.standardOutput.utf8)) as! [String: Any]
        let b = try JSONSerialization.jsonObject(with: Data(reference.standardOutput.utf8)) as! [String: Any]
        #expect(a["skipped_tokens"] as? Int == 4 && b["skipped_tokens"] as? Int == 0)
        #expect(a["skipped"] as? [String: Int] == ["ä": 2, "!": 1, "é": 1])
        #expect(a["tokens"] as? Int == b["tokens"] as? Int)
        #expect(a["loss"] as? Double == b["loss"] as? Double, "the same text without the unknown characters")
        #expect(a["bits_per_character"] as? Double == b["bits_per_character"] as? Double)

        let scored = try RecurBinary.run(["score", model, "--skip-unknown", "--json", "a päär", "a pr"])
        let objects = try scored.standardOutput.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(scored.status == 0 && objects.count == 2, "\(scored.standardError)")
        #expect(objects.map { $0["skipped_tokens"] as? Int } == [2, 0])
        #expect(objects[0]["log_probability"] as? Double == objects[1]["log_probability"] as? Double)
        #expect(scored.standardError.contains("left out 2 tokens") && scored.standardError.contains("×2"))
    }

    @Test("sample: the same seed gives the same text, --stop-at-eos ends at a line end, temperature 0 is greedy")
    func sample() throws {
        let model = try TrainedModels.characters
        let a = try RecurBinary.run(["sample", model, "--length", "60", "--seed", "3"])
        let b = try RecurBinary.run(["sample", model, "--length", "60", "--seed", "3"])
        #expect(a.status == 0 && a.standardOutput == b.standardOutput && a.standardOutput.count <= 61)
        let c = try RecurBinary.run(["sample", model, "--length", "60", "--seed", "4"])
        #expect(c.standardOutput != a.standardOutput)
        let line = try RecurBinary.run(["sample", model, "--prime", "the ", "--length", "500", "--stop-at-eos", "--seed", "1"])
        #expect(line.standardOutput.hasPrefix("the ") && line.standardOutput.filter { $0 == "\n" }.count == 1)
        let greedy = try ["1", "2"].map { try RecurBinary.run(["sample", model, "--temperature", "0", "--length", "40", "--seed", $0]) }
        #expect(greedy[0].standardOutput == greedy[1].standardOutput)
        let words = try RecurBinary.run(["sample", TrainedModels.words, "--length", "30", "--stop-at-eos", "--no-unk", "--top-k", "3"])
        #expect(words.status == 0 && !words.standardOutput.contains("<unk>") && !words.standardOutput.contains("<eos>"))
    }

    @Test("inspect: configuration, vocabulary, size and training; --json has the documented keys")
    func inspect() throws {
        let text = try RecurBinary.run(["inspect", TrainedModels.characters])
        #expect(text.status == 0 && text.standardOutput.contains("model: 1 × LSTM, hidden 32, input one-hot"))
        #expect(text.standardOutput.contains("training: step 150 of 150"))
        let json = try RecurBinary.run(["inspect", TrainedModels.words, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as! [String: Any]
        for key in ["step", "parameter_count", "vocabulary_size", "configuration", "level", "validation_history"] {
            #expect(object[key] != nil, "\(key)")
        }
        #expect(object["step"] as? Int == 150 && object["level"] as? String == "word")
    }

    @Test("sample: a negative temperature and a prime outside the vocabulary are named, with a non-zero exit")
    func badSampling() throws {
        let model = try TrainedModels.characters
        for arguments in [["--temperature=-1"], ["--temperature", "-1"]] {
            let result = try RecurBinary.run(["sample", model] + arguments)
            #expect(result.status != 0 && result.standardError.contains("--temperature"), "\(result.standardError)")
            #expect(!result.standardError.contains("crashed"))
        }
        let negative = try RecurBinary.run(["sample", model, "--temperature=-1"])
        #expect(negative.standardError.contains("--temperature must be at least 0, got -1.0"))
        let outside = try RecurBinary.run(["sample", model, "--prime", "the Ω"])
        #expect(outside.status == 1 && outside.standardError.contains("--prime: U+3A9 \"Ω\" at token 4 is not in the vocabulary"),
                "\(outside.standardError)")
    }

    @Test("a file that is not a model, and a folder, are named, with a non-zero exit", arguments: ["sample", "score", "eval", "inspect"])
    func notAModel(_ command: String) throws {
        let text = TrainedModels.folder.appendingPathComponent("text.txt").path
        let extra = command == "eval" ? ["--data", text] : command == "score" ? ["a"] : []
        let result = try RecurBinary.run([command, text] + extra)
        #expect(result.status == 1 && result.standardError.contains("\(text): not a Recur checkpoint: a model file is a safetensors file written by recur train"),
                "\(result.standardError)")
        let folder = TrainedModels.folder.path
        let fromFolder = try RecurBinary.run([command, folder] + extra)
        #expect(fromFolder.status == 1 && fromFolder.standardError.contains("\(folder): it is a folder, not a model file"),
                "\(fromFolder.standardError)")
    }

    @Test("a missing or damaged model is named, with a non-zero exit", arguments: ["sample", "score", "eval", "inspect"])
    func badModel(_ command: String) throws {
        let damaged = TrainedModels.folder.appendingPathComponent("damaged-\(command).recur")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: TrainedModels.characters))
        bytes[bytes.count / 2] ^= 0x10
        try bytes.write(to: damaged)
        let extra = command == "eval" ? ["--data", damaged.path] : command == "score" ? ["a"] : []
        let result = try RecurBinary.run([command, damaged.path] + extra)
        #expect(result.status == 1 && result.standardError.contains("\(damaged.path): damaged or truncated: its checksum does not match"),
                "\(result.standardError)")
        let missing = try RecurBinary.run([command, "/nonexistent/model.recur"] + extra)
        #expect(missing.status == 1 && missing.standardError.contains("/nonexistent/model.recur: there is no such file"))
    }
}
