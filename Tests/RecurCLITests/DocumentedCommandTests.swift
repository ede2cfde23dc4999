import Foundation
import Testing
import RecurTestSupport

/// The `recur` commands shown in the README and the articles, run as written (with fewer training steps), in a
/// folder that holds the files they name, so that the documented commands cannot drift from the tool.
@Suite("Documented commands", .serialized)
struct DocumentedCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The commands of the `sh` blocks of a document, continuation lines joined, that run `recur`.
    static func commands(in document: String) throws -> [String] {
        let text = try String(contentsOf: root.appendingPathComponent(document), encoding: .utf8)
        var commands: [String] = [], inBlock = false, pending = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed == "```sh" { inBlock = true; continue }
            if trimmed == "```" { inBlock = false; continue }
            guard inBlock else { continue }
            pending += trimmed.hasSuffix("\\") ? String(trimmed.dropLast()) : trimmed
            if trimmed.hasSuffix("\\") { continue }
            if pending.hasPrefix("recur ") || pending.hasPrefix(".build/release/recur ") { commands.append(pending) }
            pending = ""
        }
        return commands
    }

    /// Splits a command line into words: spaces separate, double quotes group.
    static func words(_ command: String) -> [String] {
        var words: [String] = [], current = "", quoted = false, started = false
        for character in command {
            if character == "\"" { quoted.toggle(); started = true }
            else if character == " " && !quoted {
                if started { words.append(current) }
                current = ""; started = false
            } else { current.append(character); started = true }
        }
        if started { words.append(current) }
        return words
    }

    /// Runs each command in `folder`, training for at most 40 steps.
    static func run(_ commands: [String], in folder: URL) throws {
        for command in commands {
            var arguments = Array(words(command).dropFirst())
            if let steps = arguments.firstIndex(of: "--steps") { arguments[steps + 1] = "40" }
            if arguments.first == "train", let epochs = arguments.firstIndex(of: "--epochs") {
                arguments[epochs + 1] = String(min(Int(arguments[epochs + 1]) ?? 1, 3))
            }
            let process = Process()
            process.executableURL = try RecurBinary.url
            process.arguments = arguments
            process.currentDirectoryURL = folder
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let output = out.fileHandleForReading.readDataToEndOfFile(), error = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(command)\n\(String(decoding: error, as: UTF8.self))")
            #expect(!output.isEmpty || arguments.first == "import-torch" || arguments.first?.hasPrefix("export") == true
                    || arguments.first == "train", "\(command) printed nothing")
        }
    }

    /// A folder with the files the documents name: some text of our own, a list of names, a PyTorch model.
    static func folder() throws -> URL {
        let folder = try temporaryFolder("documented")
        let sentences = ["The apple and pear salad is good.", "A pear and an apple make a salad.", "The salad has a pear in it."]
        try Data((0..<200).map { sentences[$0 % 3] }.joined(separator: "\n").utf8).write(to: folder.appendingPathComponent("notes.txt"))
        try Data((0..<50).map { sentences[($0 + 1) % 3] }.joined(separator: "\n").utf8)
            .write(to: folder.appendingPathComponent("other-notes.txt"))
        try Data(["Aachenosaurus", "Aardonyx", "Abdallahsaurus", "Abelisaurus", "Brachiosaurus", "Triceratops",
                  "Tyrannosaurus", "Velociraptor", "Stegosaurus", "Iguanodon"].joined(separator: "\n").utf8)
            .write(to: folder.appendingPathComponent("dinos.txt"))
        let reviews = (0..<240).map { i in
            ["The food was great\t1", "Never again, awful\t0", "Lovely staff and great coffee\t1", "Cold food and rude service\t0"][i % 4]
        }
        try Data(reviews.joined(separator: "\n").utf8).write(to: folder.appendingPathComponent("reviews.tsv"))
        try Data(reviews.prefix(40).joined(separator: "\n").utf8).write(to: folder.appendingPathComponent("more-reviews.tsv"))
        let aspects = (0..<120).map { ["Great food, but pricey\tfood,price", "Rude staff\tservice", "We sat outside\t"][$0 % 3] }
        try Data(aspects.joined(separator: "\n").utf8).write(to: folder.appendingPathComponent("aspects.tsv"))
        try writeCoNLL(folder.appendingPathComponent("ner-train.txt"), sentences: 200, scheme: "bio2")
        try writeCoNLL(folder.appendingPathComponent("ner-dev.txt"), sentences: 40, seed: 2, scheme: "bio2")
        let fixtures = root.appendingPathComponent("Tests/RecurCLITests/Fixtures/interchange")
        for (from, to) in [("lstm.safetensors", "lm.safetensors"), ("lstm.json", "lm.json"), ("vocabulary.txt", "vocab.txt")] {
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(from), to: folder.appendingPathComponent(to))
        }
        return folder
    }

    @Test("the recur commands of the README and the articles run as written", arguments: ["README.md", "Sources/Recur/Recur.docc/GettingStarted.md",
                                                             "Sources/Recur/Recur.docc/DinosaurNames.md",
                                                             "Sources/Recur/Recur.docc/Interchange.md",
                                                             "Sources/Recur/Recur.docc/Classifiers.md",
                                                             "Sources/Recur/Recur.docc/Taggers.md"])
    func documentedCommands(document: String) throws {
        let commands = try Self.commands(in: document)
        #expect(commands.count >= 2, "\(document) shows recur commands")
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.run(commands, in: folder)
        if document == "README.md" {
            for name in ["notes.recur", "notes.best.recur", "notes.log.jsonl", "notes.loss.svg", "lm.recur",
                         "notes.safetensors", "notes.onnx", "reviews.recur", "confusion.svg", "ner.recur"] {
                #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path),
                        "the README says \(name) is written")
            }
        }
    }
}
