import Foundation
import Testing
import RecurTestSupport
import Recur

@Suite("recur train tagger, tag, eval", .serialized)
struct TaggerCommandTests {
    static let folder = SharedTestFolder.make("tagger")

    /// A tagger trained once for the tests below.
    static let trained = Result { () throws -> String in
        let data = folder.appendingPathComponent("train.txt"), valid = folder.appendingPathComponent("valid.txt")
        try writeCoNLL(data, sentences: 300)
        try writeCoNLL(valid, sentences: 60, seed: 2)
        let model = folder.appendingPathComponent("t.recur").path
        let result = try RecurBinary.run(["train", "tagger", "--data", data.path, "--valid", valid.path, "--embedding-size", "8",
                                          "--hidden-size", "16", "--bidirectional", "--character-hidden-size", "8",
                                          "--character-embedding-size", "8", "--epochs", "8", "--batch-size", "10",
                                          "--learning-rate", "0.02", "--input-dropout", "0.1", "--validate-every", "30",
                                          "--threads", "1", "--quiet", "--output", model])
        guard result.status == 0 else { throw CommandFailure(description: result.standardError) }
        return model + "\n" + result.standardOutput
    }

    struct CommandFailure: Error, CustomStringConvertible { var description: String }

    static var model: String { get throws { String(try trained.get().split(separator: "\n")[0]) } }

    @Test("train tagger learns the entities, writes the model and its files, and reports entity F1")
    func trains() throws {
        let output = try Self.trained.get()
        #expect(output.contains("; validation entity F1") && output.contains("best F1"), "\(output)")
        let log = try String(contentsOf: Self.folder.appendingPathComponent("t.log.jsonl"), encoding: .utf8)
        #expect(log.contains("\"f1\"") && log.contains("\"token_accuracy\""))
        let inspect = try RecurBinary.run(["inspect", Self.model])
        #expect(inspect.status == 0 && inspect.standardOutput.contains("tags (iobes; data in iob1)"), "\(inspect.standardOutput)")
        #expect(inspect.standardOutput.contains("CRF (constrained)"))
    }

    @Test("tag marks the entities inline, as CoNLL lines in the data's scheme, and as JSON")
    func tag() throws {
        let model = try Self.model
        let inline = try RecurBinary.run(["tag", model, "Harry Potter visited London.", "Luna met Hermione Granger in Paris"])
        #expect(inline.status == 0, "\(inline.standardError)")
        #expect(inline.standardOutput == "[PER Harry Potter] visited [LOC London] .\n[PER Luna] met [PER Hermione Granger] in [LOC Paris]\n",
                "\(inline.standardOutput)")
        let conll = try RecurBinary.run(["tag", model, "Ron visited Berlin", "--format", "conll"])
        #expect(conll.standardOutput == "Ron\tI-PER\nvisited\tO\nBerlin\tI-LOC\n\n", "\(conll.standardOutput)")
        let json = try RecurBinary.run(["tag", model, "Albus Dumbledore met Ron", "--format", "json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as! [String: Any]
        let entities = object["entities"] as! [[String: Any]]
        #expect(entities.count == 2 && entities[0]["text"] as? String == "Albus Dumbledore" && entities[0]["type"] as? String == "PER")
        #expect(object["tags"] as? [String] == ["I-PER", "I-PER", "O", "I-PER"])
        let file = Self.folder.appendingPathComponent("valid.txt").path
        let fromFile = try RecurBinary.run(["tag", model, "--file", file, "--input-format", "conll", "--format", "conll"])
        #expect(fromFile.status == 0 && fromFile.standardOutput.components(separatedBy: "\n\n").count > 50)
    }

    @Test("eval prints entity F1, per type and token accuracy; --json has the documented keys")
    func eval() throws {
        let model = try Self.model, data = Self.folder.appendingPathComponent("valid.txt").path
        let text = try RecurBinary.run(["eval", model, "--data", data])
        #expect(text.status == 0 && text.standardOutput.contains("entity F1") && text.standardOutput.contains("PER"), "\(text.standardOutput)")
        let json = try RecurBinary.run(["eval", model, "--data", data, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as! [String: Any]
        for key in ["f1", "precision", "recall", "token_accuracy", "per_type", "loss", "sentences", "tokens", "unknown_types", "repaired_tags"] {
            #expect(object[key] != nil, "\(key)")
        }
        #expect((object["f1"] as! Double) > 0.9, "\(object)")
        #expect((object["token_accuracy"] as! Double) > 0.9 && (object["token_accuracy"] as! Double) <= 1)
    }

    @Test("eval counts entity types the model never saw and tags that break the scheme, and does not crash")
    func unknownTypesAndRepairs() throws {
        let model = try Self.model
        let data = Self.folder.appendingPathComponent("odd.txt")
        try Data("Harry NN I-NP B-PER\nPotter NN I-NP I-PER\nmet NN I-NP O\nGringotts NN I-NP B-ORG\n\nRon NN I-NP O\nLondon NN I-NP I-LOC\n".utf8)
            .write(to: data)
        let result = try RecurBinary.run(["eval", model, "--data", data.path, "--json", "--tag-scheme", "bio2"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("never saw") && result.standardError.contains("ORG ×1"), "\(result.standardError)")
        let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as! [String: Any]
        #expect(object["unknown_types"] as? [String: Int] == ["ORG": 1])
        #expect(object["repaired_tags"] as? Int == 1, "I-LOC after O in BIO2")
    }

    @Test("bad input: a ragged line, a bad tag, a long sentence, only O tags, binary data, a model of another kind")
    func badInput() throws {
        func refused(_ arguments: [String], _ message: String) throws {
            let result = try RecurBinary.run(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.standardError.contains(message), "\(arguments): \(result.standardError)")
        }
        let ragged = Self.folder.appendingPathComponent("ragged.txt")
        try Data("Harry NN I-PER\nPotter I-PER\n".utf8).write(to: ragged)
        let out = Self.folder.appendingPathComponent("never.recur").path
        try refused(["train", "tagger", "--data", ragged.path, "--output", out], "ragged.txt: line 2: 2 columns, but the sentence starting on line 1 has 3")
        let badTag = Self.folder.appendingPathComponent("badtag.txt")
        try Data("Harry PERSON\n".utf8).write(to: badTag)
        try refused(["train", "tagger", "--data", badTag.path, "--output", out], "badtag.txt: line 1: the tag 'PERSON' is not O or B-")
        try refused(["train", "tagger", "--data", Self.folder.appendingPathComponent("train.txt").path, "--max-length", "3", "--output", out],
                    "more than --max-length 3")
        let plain = Self.folder.appendingPathComponent("plain.txt")
        try Data("a O\nb O\n\nc O\n".utf8).write(to: plain)
        try refused(["train", "tagger", "--data", plain.path, "--output", out], "every token has the tag O")
        let binary = Self.folder.appendingPathComponent("binary.txt")
        try Data([0x41, 0x20, 0x4f, 0x0a, 0xff, 0x00, 0x17]).write(to: binary)
        try refused(["train", "tagger", "--data", binary.path, "--output", out], "binary.txt")
        #expect(!FileManager.default.fileExists(atPath: out), "nothing written")
        try refused(["classify", try Self.model, "some text"], "this is a tagger, not a classifier; use recur tag or eval")
        try refused(["sample", try Self.model], "this is a tagger")
        try refused(["train", "tagger", "--data", plain.path, "--freeze-embeddings", "--output", out], "--freeze-embeddings")
    }

    @Test("export-torch writes the state_dict under PyTorch's names and one JSON with the kind, configuration and vocabulary")
    func exportTorch() throws {
        let state = Self.folder.appendingPathComponent("t.safetensors").path
        let result = try RecurBinary.run(["export-torch", try Self.model, "--output", state])
        #expect(result.status == 0 && result.standardOutput.contains("tensors of a tagger"), "\(result.standardError)")
        let data = try Data(contentsOf: URL(fileURLWithPath: state))
        let tensors = try data.withUnsafeBytes { try Safetensors.decode($0) }
        let names = Set(tensors.tensors.map(\.name))
        for name in ["embedding.weight", "char_embedding.weight", "char_rnn.weight_ih_l0_reverse", "rnn.weight_hh_l0",
                     "output.weight", "crf.transitions", "crf.start_transitions", "crf.end_transitions"] {
            #expect(names.contains(name), "\(name)")
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.folder.appendingPathComponent("t.json"))) as! [String: Any]
        #expect(json["kind"] as? String == "tagger")
        let configuration = json["configuration"] as! [String: Any], vocabulary = json["vocabulary"] as! [String: Any]
        #expect(configuration["tags"] as? [String] != nil && configuration["output_layer"] as? String == "crf")
        #expect(vocabulary["data_scheme"] as? String == "iob1" && vocabulary["words"] != nil)
        let refused = try RecurBinary.run(["export-torch", try Self.model, "--output", state, "--vocabulary-output", "v.txt"])
        #expect(refused.status != 0 && refused.standardError.contains("written in its config JSON"))
    }

    @Test("--embeddings sets the vectors of the words it has; --freeze-embeddings keeps them through training")
    func embeddings() throws {
        let vectors = Self.folder.appendingPathComponent("vectors.txt")
        try Data("2 4\nharry 1 2 3 4\nLondon 0.5 0.5 0.5 0.5\n".utf8).write(to: vectors)
        let data = Self.folder.appendingPathComponent("train.txt").path
        let model = Self.folder.appendingPathComponent("frozen.recur").path
        let result = try RecurBinary.run(["train", "tagger", "--data", data, "--embeddings", vectors.path, "--freeze-embeddings",
                                          "--hidden-size", "4", "--character-hidden-size", "0", "--steps", "5", "--threads", "1",
                                          "--quiet", "--output", model])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("--embeddings gave vectors to 2 of"), "\(result.standardError)")
        let wrongSize = try RecurBinary.run(["train", "tagger", "--data", data, "--embeddings", vectors.path, "--embedding-size", "8",
                                             "--steps", "1", "--output", Self.folder.appendingPathComponent("x.recur").path])
        #expect(wrongSize.status != 0 && wrongSize.standardError.contains("vectors of 4 numbers but --embedding-size is 8"))
        let bad = Self.folder.appendingPathComponent("bad-vectors.txt")
        try Data("harry 1 2\nron 1 x\n".utf8).write(to: bad)
        let malformed = try RecurBinary.run(["train", "tagger", "--data", data, "--embeddings", bad.path, "--steps", "1",
                                             "--output", Self.folder.appendingPathComponent("y.recur").path])
        #expect(malformed.status != 0 && malformed.standardError.contains("bad-vectors.txt: line 2: not a word followed by its numbers"),
                "\(malformed.standardError)")
    }
}
