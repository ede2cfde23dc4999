import Foundation
import Testing
import RecurTestSupport
import Recur

/// Labelled sentences of our own: the label is "pos" when the sentence holds a good word, "neg" otherwise.
private func writeTable(_ url: URL, rows: Int, seed: UInt64 = 1, extra: [String] = []) throws {
    let good = ["good", "great", "lovely"], bad = ["bad", "awful", "poor"], filler = ["the", "food", "was", "really", "service", "and"]
    var state = seed
    func next(_ n: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int(state >> 33) % n
    }
    let lines = (0..<rows).map { _ -> String in
        let positive = next(2) == 0
        var words = (0..<(2 + next(4))).map { _ in filler[next(filler.count)] }
        words.insert((positive ? good : bad)[next(3)], at: next(words.count + 1))
        return words.joined(separator: " ") + "\t" + (positive ? "pos" : "neg")
    }
    try Data((lines + extra).joined(separator: "\n").utf8).write(to: url)
}

@Suite("recur train classifier, classify, eval", .serialized)
struct ClassifierCommandTests {
    static let folder = SharedTestFolder.make("classifier")

    /// A classifier trained once for the tests below.
    static let trained = Result { () throws -> String in
        let data = folder.appendingPathComponent("train.tsv")
        try writeTable(data, rows: 300)
        let model = folder.appendingPathComponent("c.recur").path
        let result = try RecurBinary.run(["train", "classifier", "--data", data.path, "--embedding-size", "8", "--hidden-size", "16",
                                          "--bidirectional", "--pooling", "max", "--epochs", "6", "--batch-size", "16",
                                          "--learning-rate", "0.01", "--validate-every", "20", "--threads", "1", "--quiet",
                                          "--output", model])
        guard result.status == 0 else { throw CommandFailure(description: result.standardError) }
        return model + "\n" + result.standardOutput
    }

    struct CommandFailure: Error, CustomStringConvertible { var description: String }

    static var model: String { get throws { String(try trained.get().split(separator: "\n")[0]) } }

    @Test("train classifier learns the labels, writes the model and its files, and reports accuracy")
    func trains() throws {
        let output = try Self.trained.get()
        #expect(output.contains("; validation accuracy") && output.contains("best accuracy"), "\(output)")
        for name in ["c.recur", "c.best.recur", "c.log.jsonl", "c.loss.svg"] {
            #expect(FileManager.default.fileExists(atPath: Self.folder.appendingPathComponent(name).path), "\(name)")
        }
        let log = try String(contentsOf: Self.folder.appendingPathComponent("c.log.jsonl"), encoding: .utf8)
        #expect(log.contains("\"macro_f1\""))
    }

    @Test("export-torch writes a classifier's state_dict and one JSON with its kind, configuration, tokens and labels")
    func exportTorch() throws {
        let state = Self.folder.appendingPathComponent("c.safetensors").path
        let result = try RecurBinary.run(["export-torch", try Self.model, "--output", state])
        #expect(result.status == 0 && result.standardOutput.contains("tensors of a classifier"), "\(result.standardError)")
        let data = try Data(contentsOf: URL(fileURLWithPath: state))
        let names = Set(try data.withUnsafeBytes { try Safetensors.decode($0) }.tensors.map(\.name))
        #expect(names == ["embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                          "rnn.weight_ih_l0_reverse", "rnn.weight_hh_l0_reverse", "rnn.bias_ih_l0_reverse", "rnn.bias_hh_l0_reverse",
                          "output.weight", "output.bias"])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.folder.appendingPathComponent("c.json"))) as! [String: Any]
        #expect(json["kind"] as? String == "classifier")
        #expect((json["vocabulary"] as! [String: Any])["labels"] as? [String] == ["neg", "pos"])
        #expect((json["configuration"] as! [String: Any])["pooling"] as? String == "max")
    }

    @Test("--multi-label: any number of labels per text, a sigmoid each; classify gives the set, eval micro-F1 and the rest")
    func multiLabel() throws {
        let data = Self.folder.appendingPathComponent("multi.tsv")
        let rows = (0..<300).map { i -> String in
            ["great food and cheap\tfood,price", "the food was great\tfood", "cheap prices\tprice", "we sat outside\t",
             "rude staff\tservice", "rude staff and expensive food\tservice,price,food"][i % 6]
        }
        try Data(rows.joined(separator: "\n").utf8).write(to: data)
        let model = Self.folder.appendingPathComponent("multi.recur").path
        let train = try RecurBinary.run(["train", "classifier", "--data", data.path, "--multi-label", "--embedding-size", "8",
                                         "--hidden-size", "16", "--bidirectional", "--pooling", "max", "--epochs", "10", "--batch-size", "16",
                                         "--learning-rate", "0.02", "--threads", "1", "--quiet", "--output", model])
        #expect(train.status == 0 && train.standardOutput.contains("micro-F1"), "\(train.standardError)\(train.standardOutput)")
        let classify = try RecurBinary.run(["classify", model, "--json", "great food and cheap", "we sat outside"])
        let lines = classify.standardOutput.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(lines.count == 2 && Set(lines[0]["labels"] as! [String]) == ["food", "price"] && (lines[1]["labels"] as! [String]).isEmpty,
                "\(classify.standardOutput)")
        let eval = try RecurBinary.run(["eval", model, "--data", data.path, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(eval.standardOutput.utf8)) as! [String: Any]
        for key in ["micro_f1", "macro_f1", "subset_accuracy", "hamming_loss", "loss", "per_label", "labels", "examples"] {
            #expect(object[key] != nil, "\(key)")
        }
        #expect((object["micro_f1"] as! Double) > 0.95)
        let folds = try RecurBinary.run(["train", "classifier", "--data", data.path, "--multi-label", "--folds", "3", "--output",
                                         Self.folder.appendingPathComponent("never.recur").path])
        #expect(folds.status != 0 && folds.standardError.contains("single-label"))
    }

    @Test("classify gives each text its label; --top and --json show the probabilities")
    func classify() throws {
        let model = try Self.model
        let result = try RecurBinary.run(["classify", model, "the food was great", "really awful service"])
        #expect(result.status == 0, "\(result.standardError)")
        let lines = result.standardOutput.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].hasPrefix("pos ") && lines[1].hasPrefix("neg "), "\(result.standardOutput)")
        let json = try RecurBinary.run(["classify", model, "--json", "--top", "2", "lovely"])
        let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as! [String: Any]
        #expect(Set(object.keys) == ["text", "label", "probability", "top"])
        let top = object["top"] as! [[String: Any]]
        #expect(top.count == 2 && abs(top.reduce(0) { $0 + ($1["probability"] as! Double) } - 1) < 1e-6)
    }

    @Test("eval prints the metrics and the confusion matrix; --json has the documented keys; unknown labels are counted")
    func eval() throws {
        let model = try Self.model
        let data = Self.folder.appendingPathComponent("test.tsv")
        try writeTable(data, rows: 100, seed: 7, extra: ["the food was good\tmaybe", "so so\tmaybe"])
        let text = try RecurBinary.run(["eval", model, "--data", data.path, "--svg", Self.folder.appendingPathComponent("c.svg").path])
        #expect(text.status == 0, "\(text.standardError)")
        #expect(text.standardOutput.contains("accuracy") && text.standardOutput.contains("true \\ predicted"))
        #expect(text.standardError.contains("left out 2 examples whose label the model never saw: 'maybe' ×2"), "\(text.standardError)")
        let svg = try String(contentsOf: Self.folder.appendingPathComponent("c.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains(">pos<"))
        let json = try RecurBinary.run(["eval", model, "--data", data.path, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as! [String: Any]
        #expect(Set(object.keys) == ["accuracy", "macro_f1", "loss", "per_class", "confusion", "labels", "examples", "unknown_labels"])
        #expect((object["accuracy"] as! Double) > 0.9, "\(object)")
        #expect(object["examples"] as? Int == 100 && object["labels"] as? [String] == ["neg", "pos"])
        #expect(object["unknown_labels"] as? [String: Int] == ["maybe": 2])
    }

    @Test("--folds K trains K models on stratified folds and reports each and the mean ± standard deviation")
    func crossValidation() throws {
        let folder = try temporaryFolder("folds")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data.tsv")
        try writeTable(data, rows: 90, seed: 3)
        let output = folder.appendingPathComponent("cv.recur").path
        let arguments = ["train", "classifier", "--data", data.path, "--embedding-size", "8", "--hidden-size", "8", "--epochs", "2",
                         "--quiet", "--output", output]
        let result = try RecurBinary.run(arguments + ["--folds", "3"])
        #expect(result.status == 0, "\(result.standardError)")
        let lines = result.standardOutput.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("fold ") }.count == 3 && lines.last?.hasPrefix("3-fold cross-validation: accuracy ") == true,
                "\(result.standardOutput)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("cv.folds.json"))) as! [String: Any]
        let folds = report["folds"] as! [[String: Any]]
        #expect(folds.map { $0["examples"] as! Int }.reduce(0, +) == 90 && folds.allSatisfy { ($0["examples"] as! Int) == 30 })
        let accuracies = folds.map { $0["accuracy"] as! Double }, spread = report["accuracy"] as! [String: Double]
        #expect(abs(spread["mean"]! - accuracies.reduce(0, +) / 3) < 1e-12 && spread["standard_deviation"]! >= 0)
        for fold in 1...3 { #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("cv.fold\(fold).recur").path)) }
        for (extra, message) in [(["--folds", "200"], "--folds 200: \(data.path) has 90 examples, too few for 200 folds"),
                                 (["--folds", "1"], "--folds must be at least 2, got 1"),
                                 (["--folds", "3", "--valid", data.path], "--folds holds out each fold in turn; it takes no --valid")] {
            let refused = try RecurBinary.run(arguments + extra)
            #expect(refused.status != 0 && refused.standardError.contains(message), "\(refused.standardError)")
        }
    }

    @Test("inspect describes a classifier: its labels, pooling and training")
    func inspect() throws {
        let model = try Self.model
        let text = try RecurBinary.run(["inspect", model])
        #expect(text.status == 0 && text.standardOutput.contains("labels: neg, pos") && text.standardOutput.contains("max pooling"),
                "\(text.standardOutput)\(text.standardError)")
        let json = try RecurBinary.run(["inspect", model, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as! [String: Any]
        #expect(object["kind"] as? String == "classifier" && object["labels"] as? [String] == ["neg", "pos"])
        #expect((object["best_validation_metrics"] as? [String: Double])?["accuracy"] != nil)
    }

    @Test("a model of the other kind is named, with the command to use")
    func wrongKind() throws {
        let classifier = try Self.model
        let sample = try RecurBinary.run(["sample", classifier])
        #expect(sample.status == 1 && sample.standardError.contains("this is a classifier, not a language-model; use recur classify or eval"),
                "\(sample.standardError)")
        let text = Self.folder.appendingPathComponent("lm.txt")
        try Data(String(repeating: "the food was good. ", count: 40).utf8).write(to: text)
        let lm = Self.folder.appendingPathComponent("lm.recur").path
        #expect(try RecurBinary.run(["train", "--data", text.path, "--steps", "2", "--hidden-size", "8", "--quiet", "--output", lm]).status == 0)
        let classify = try RecurBinary.run(["classify", lm, "hello"])
        #expect(classify.status == 1 && classify.standardError.contains("this is a language-model, not a classifier; use recur sample, score or eval"),
                "\(classify.standardError)")
        let bidirectional = try RecurBinary.run(["train", "--data", text.path, "--bidirectional", "--output", lm])
        #expect(bidirectional.status != 0 && bidirectional.standardError.contains("a language model reads left to right"))
    }

    @Test("bad tables are named with file and line, and nothing is written", arguments: [
        ("the food was good\tpos\nno label here\n", "line 2: it has 1 field, so no label column (column 2)"),
        ("the food was good\tpos\n   \tneg\n", "line 2: the text is empty"),
        ("good\tpos\ngreat\tpos\n", "every training example has the label 'pos'; a classifier needs at least two"),
    ])
    func badTables(_ content: String, _ message: String) throws {
        let folder = try temporaryFolder("bad-table")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("bad.tsv")
        try Data(content.utf8).write(to: data)
        let output = folder.appendingPathComponent("m.recur")
        let result = try RecurBinary.run(["train", "classifier", "--data", data.path, "--valid-fraction", "0", "--output", output.path])
        #expect(result.status == 1 && result.standardError.contains(data.path) && result.standardError.contains(message),
                "\(result.standardError)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test("a validation label that training never saw is named with its line; comma-separated tables read by column")
    func validationAndColumns() throws {
        let folder = try temporaryFolder("table-columns")
        defer { try? FileManager.default.removeItem(at: folder) }
        let train = folder.appendingPathComponent("train.csv"), valid = folder.appendingPathComponent("valid.csv")
        try Data("EI, a, ACGTAC\nIE, b, TTGACA\nN, c, GGGCCC\nEI, d, ACGTTT\n".utf8).write(to: train)
        try Data("EI, e, ACGAAA\nXX, f, ACGTAC\n".utf8).write(to: valid)
        let arguments = ["train", "classifier", "--data", train.path, "--format", "csv", "--text-column", "3", "--label-column", "1",
                         "--level", "char", "--steps", "3", "--hidden-size", "4", "--quiet", "--output", folder.appendingPathComponent("m.recur").path]
        let refused = try RecurBinary.run(arguments + ["--valid", valid.path])
        #expect(refused.status == 1 && refused.standardError.contains("\(valid.path): line 2: the label 'XX' is not one of the training labels (EI, IE, N)"),
                "\(refused.standardError)")
        let trained = try RecurBinary.run(arguments + ["--valid-fraction", "0"])
        #expect(trained.status == 0, "\(trained.standardError)")
    }
}
