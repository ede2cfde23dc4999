import Foundation
import Testing
import RecurTraining
import RecurTestSupport

/// A text of our own for training runs: made-up sentences from a fixed word list.
private func writeCorpus(_ url: URL, lines: Int = 300) throws {
    let words = ["the", "river", "ran", "past", "mill", "and", "miller", "sang", "of", "bread", "rain", "wheel", "turned"]
    var state: UInt64 = 12345
    func next() -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int(state >> 33) % words.count
    }
    let text = (0..<lines).map { _ in (0..<10).map { _ in words[next()] }.joined(separator: " ") }.joined(separator: "\n")
    try Data(text.utf8).write(to: url)
}

private func folder(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("recur-cli-\(name)-\(getpid())")
    try? FileManager.default.removeItem(at: url)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Starts the binary without waiting for it.
private func launch(_ arguments: [String]) throws -> (Process, Pipe, Pipe) {
    let process = Process()
    process.executableURL = try RecurBinary.url
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    return (process, out, err)
}

/// Waits until `condition` holds (or `seconds` pass).
private func wait(upTo seconds: Double, until condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}

@Suite("recur train", .serialized)
struct TrainCommandTests {
    @Test("trains, writes the model, best model, log and plot, and a model that loads")
    func trains() throws {
        let dir = try folder("train")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("text.txt")
        try writeCorpus(data)
        let model = dir.appendingPathComponent("m.recur").path
        let temporary = dir.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: false)
        let result = try RecurBinary.run(["train", "--data", data.path, "--hidden-size", "32", "--batch-size", "4",
                                          "--sequence-length", "16", "--steps", "30", "--validate-every", "10",
                                          "--threads", "1", "--output", model], environment: ["TMPDIR": temporary.path])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary.path).isEmpty, "the token file is gone")
        #expect(result.standardOutput.contains("saved \(model) at step 30; validation loss"))
        #expect(result.standardError.contains("step 30/30"), "the progress lines go to standard error")
        for suffix in ["m.recur", "m.best.recur", "m.log.jsonl", "m.loss.svg"] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(suffix).path), "\(suffix)")
        }
        let file = try CheckpointFile.load(from: URL(fileURLWithPath: model))
        #expect(file["rnn.weight_ih_l0"]?.shape.first == 4 * 32 && file["decoder.bias"] != nil)
        let log = try String(contentsOfFile: dir.appendingPathComponent("m.log.jsonl").path, encoding: .utf8)
        #expect(log.split(separator: "\n").count == 6, "3 train records and 3 validations")
    }

    @Test("bad input files are named with what is wrong, and exit non-zero")
    func badFiles() throws {
        let dir = try folder("bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty.txt"), binary = dir.appendingPathComponent("binary.bin")
        let latin = dir.appendingPathComponent("latin1.txt"), corrupt = dir.appendingPathComponent("corrupt.recur")
        #expect(FileManager.default.createFile(atPath: empty.path, contents: Data()))
        #expect(FileManager.default.createFile(atPath: binary.path, contents: Data([0x7F, 0x45, 0x4C, 0x46, 0x00, 0x01])))
        #expect(FileManager.default.createFile(atPath: latin.path, contents: Data("caf".utf8 + [0xE9] + "\nok".utf8)))
        #expect(FileManager.default.createFile(atPath: corrupt.path, contents: Data(repeating: 0x41, count: 100)))
        let good = dir.appendingPathComponent("good.txt")
        try writeCorpus(good)
        let one = dir.appendingPathComponent("one.txt"), long = dir.appendingPathComponent("long.txt")
        #expect(FileManager.default.createFile(atPath: one.path, contents: Data(repeating: UInt8(ascii: "a"), count: 200)))
        // A 50 MB single line: too long to train whole as a line, fine as a stream (read in pieces cut before spaces).
        let letters = Array("abcdefgh ".utf8)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let longLine = Data((0..<50_000_000).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17   // xorshift64
            return letters[Int(state % 9)]
        })
        #expect(FileManager.default.createFile(atPath: long.path, contents: longLine))
        let output = dir.appendingPathComponent("m.recur").path
        let cases: [([String], String)] = [
            (["--data", empty.path], "\(empty.path): the file is empty"),
            (["--data", binary.path], "\(binary.path): it looks binary, not text (a NUL byte at offset 4, line 1)"),
            (["--data", latin.path], "\(latin.path): it is not valid UTF-8 (a bad byte 0xE9 at offset 3, line 1)"),
            (["--data", dir.appendingPathComponent("absent.txt").path], "absent.txt: there is no such file"),
            (["--data", good.path, "--steps", "2", "--resume", corrupt.path], "\(corrupt.path): not a Recur checkpoint"),
            (["--data", one.path], "\(one.path): the text has only one distinct character (\"a\"); a language model needs at least two"),
            (["--data", dir.path], "\(dir.path): it is a folder, not a file"),
            (["--data", long.path, "--layout", "lines"],
             "\(long.path): line 1 has 50000001 tokens, more than --max-line-length 10000 (with --layout lines each line is trained whole"),
        ]
        for (arguments, message) in cases {
            let result = try RecurBinary.run(["train"] + arguments + ["--output", output, "--threads", "1"])
            #expect(result.status == 1, "\(arguments)")
            #expect(result.standardError.contains(message), "\(arguments): \(result.standardError)")
        }
        #expect(!FileManager.default.fileExists(atPath: output), "nothing is saved after an error")
        let stream = try RecurBinary.run(["train", "--data", long.path, "--valid-fraction", "0", "--hidden-size", "16",
                                          "--steps", "1", "--threads", "1", "--quiet", "--output", output])
        #expect(stream.status == 0 && stream.standardError.contains("on 50000000 characters"), "\(stream.standardError)")
        try FileManager.default.removeItem(atPath: output)
        let nowhere = dir.appendingPathComponent("nowhere/m.recur").path
        let result = try RecurBinary.run(["train", "--data", good.path, "--output", nowhere])
        #expect(result.status == 1 && result.standardError.contains("--output \(nowhere): the folder \(dir.path)/nowhere does not exist"),
                "\(result.standardError)")
    }

    @Test("wrong flag values name the option", arguments: [
        (["--steps", "0"], "--steps must be at least 1"),
        (["--learning-rate=-1"], "--learning-rate must be positive"),
        (["--clip-norm", "1", "--clip-value", "1"], "give --clip-norm or --clip-value, not both"),
        (["--optimizer", "lion"], "The value 'lion' is invalid for '--optimizer <optimizer>'. Please provide one of 'sgd', 'adam', 'adamw' or 'rmsprop'."),
        (["--level", "byte"], "The value 'byte' is invalid for '--level <level>'. Please provide one of 'char' and 'word'."),
        (["--cell", "transformer"], "The value 'transformer' is invalid for '--cell <cell>'. Please provide one of 'rnn', 'gru' or 'lstm'."),
        (["--schedule", "linear"], "The value 'linear' is invalid for '--schedule <schedule>'"),
        (["--reduction", "mean"], "The value 'mean' is invalid for '--reduction <reduction>'"),
        (["--activation", "sigmoid"], "The value 'sigmoid' is invalid for '--activation <activation>'. Please provide one of 'tanh' and 'relu'."),
        (["--dropout", "1"], "--dropout must be in [0, 1)"),
        (["--sequence-length", "0"], "--sequence-length must be between 1 and"),
        (["--max-line-length", "0"], "--max-line-length must be at least 1, got 0"),
        (["--optimizer", "adam", "--nesterov"], "Nesterov momentum needs SGD with a momentum above 0"),
    ])
    func badFlags(_ arguments: [String], _ message: String) throws {
        let result = try RecurBinary.run(["train", "--data", "x.txt", "--output", "m.recur"] + arguments)
        #expect(result.status != 0)
        #expect(result.standardError.contains(message), "\(result.standardError)")
    }

    @Test("recur train is recur train lm: the same options give the same weights; --help lists the tasks")
    func languageModelIsTheDefaultTask() throws {
        let dir = try folder("default-task")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("text.txt")
        try writeCorpus(data, lines: 60)
        var weights: [[String: [Float]]] = []
        for (name, task) in [("default.recur", [String]()), ("lm.recur", ["lm"])] {
            let output = dir.appendingPathComponent(name).path
            let result = try RecurBinary.run(["train"] + task + ["--data", data.path, "--hidden-size", "16", "--batch-size", "4",
                                                                 "--sequence-length", "16", "--steps", "20", "--threads", "1",
                                                                 "--quiet", "--output", output])
            #expect(result.status == 0, "\(result.standardError)")
            let file = try CheckpointFile.load(from: URL(fileURLWithPath: output))
            weights.append(Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.value.scalars) }))
        }
        #expect(weights[0] == weights[1] && !weights[0].isEmpty)
        let help = try RecurBinary.run(["train", "--help"])
        #expect(help.standardOutput.contains("lm (default)"), "\(help.standardOutput)")
        let lmHelp = try RecurBinary.run(["train", "lm", "--help"])
        for group in ["DATA:", "MODEL:", "OPTIMIZER:", "SCHEDULE:", "RUN:"] {
            #expect(lmHelp.standardOutput.contains(group), "\(group) in \(lmHelp.standardOutput)")
        }
    }

    /// Options of the runs below: dropout, two layers, Adam, a cosine schedule, carried state.
    private func runArguments(data: URL, output: String) -> [String] {
        ["train", "--data", data.path, "--layers", "2", "--hidden-size", "48", "--dropout", "0.2", "--batch-size", "4",
         "--sequence-length", "20", "--steps", "400", "--schedule", "cosine", "--warmup-steps", "10",
         "--validate-every", "100", "--checkpoint-every", "25", "--threads", "1", "--quiet", "--output", output]
    }

    @Test("Ctrl-C saves and prints the resume command; the resumed run ends bit-identical to an uninterrupted one")
    func interruptAndResume() throws {
        let dir = try folder("resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("text.txt")
        try writeCorpus(data)
        let straight = dir.appendingPathComponent("straight.recur").path
        let result = try RecurBinary.run(runArguments(data: data, output: straight))
        #expect(result.status == 0, "\(result.standardError)")

        let broken = dir.appendingPathComponent("broken.recur").path
        let (process, out, _) = try launch(runArguments(data: data, output: broken))
        #expect(wait(upTo: 60) { FileManager.default.fileExists(atPath: broken) }, "the first checkpoint appears")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0)
        guard let commandLine = printed.split(separator: "\n").first(where: { $0.hasPrefix("resume with: recur train ") }) else {
            Issue.record("no resume command in \(printed)")
            return
        }
        #expect(commandLine.hasSuffix("--resume \(broken)"))
        let interruptedAt = try CheckpointFile.load(from: URL(fileURLWithPath: broken))
        #expect(interruptedAt.document.count > 0)
        // The printed command, run as printed (its words are shell-quoted only when they need it).
        let words = commandLine.dropFirst("resume with: recur ".count).split(separator: " ").map(String.init)
        let resumed = try RecurBinary.run(words)
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(resumed.standardError.contains("resuming at step"))
        let a = try CheckpointFile.load(from: URL(fileURLWithPath: straight))
        let b = try CheckpointFile.load(from: URL(fileURLWithPath: broken))
        #expect(a.tensors.map(\.name) == b.tensors.map(\.name))
        for (x, y) in zip(a.tensors, b.tensors) { #expect(x.value == y.value, "\(x.name) differs") }
    }

    @Test("SIGKILL at any moment of saving leaves a checkpoint that loads")
    func killDuringSave() throws {
        let dir = try folder("kill")
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("text.txt")
        try writeCorpus(data)
        let model = dir.appendingPathComponent("m.recur").path
        // A model of 3.2 M parameters saved after every tiny step: almost all the time goes to saving.
        let arguments = ["train", "--data", data.path, "--layers", "2", "--hidden-size", "512", "--batch-size", "1",
                         "--sequence-length", "4", "--steps", "100000", "--checkpoint-every", "1", "--valid-fraction", "0",
                         "--threads", "1", "--quiet", "--log-every", "1000", "--output", model]
        var generator = SystemRandomNumberGenerator()
        var midSave = 0
        /// The file's inode: each completed save renames a new file into place.
        func inode() -> Int? { (try? FileManager.default.attributesOfItem(atPath: model))?[.systemFileNumber] as? Int }
        for attempt in 0..<8 {
            let before = inode()
            let (process, _, _) = try launch(arguments + (attempt == 0 ? [] : ["--resume", model]))
            // Kill only once this process has saved at least once, so the kill lands in its save loop.
            #expect(wait(upTo: 60) { inode().map { $0 != before } ?? false })
            if attempt % 2 == 1 {
                // Aim at the write itself: as soon as the temporary file appears, then a few milliseconds more.
                _ = wait(upTo: 10) {
                    (try? FileManager.default.contentsOfDirectory(atPath: dir.path))?
                        .contains { $0.hasPrefix(".m.recur.partial-\(process.processIdentifier)") } ?? false
                }
                usleep(UInt32.random(in: 0...15_000, using: &generator))
            } else {
                usleep(UInt32.random(in: 50_000...600_000, using: &generator))
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            if names.contains(where: { $0.hasPrefix(".m.recur.partial-") }) { midSave += 1 }
            let file = try CheckpointFile.load(from: URL(fileURLWithPath: model))
            #expect(file["rnn.weight_hh_l1"]?.shape == [2048, 512])
        }
        print("SIGKILL: \(midSave) of 8 kills landed while a checkpoint was being written; every file loaded")
        #expect(midSave >= 2, "the kills aimed at the write should land during it")
    }
}
