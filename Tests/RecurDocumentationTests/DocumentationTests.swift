import Foundation
import Testing
import Recur
import RecurTestSupport

/// The repository's documents and this target's sample code, read from the source tree.
enum Documents {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let catalog = root.appendingPathComponent("Sources/Recur/Recur.docc")

    /// README.md and every Markdown file of the documentation catalog.
    static func markdownFiles() throws -> [URL] {
        let articles = try FileManager.default.contentsOfDirectory(at: catalog, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "md" }.sorted { $0.path < $1.path }
        return [root.appendingPathComponent("README.md")] + articles
    }

    /// The fenced blocks of `language` in a Markdown text, each without its fences.
    static func blocks(_ language: String, in text: String) -> [String] {
        var result: [String] = [], current: [Substring]? = nil
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if current == nil, trimmed == "```" + language {
                current = []
            } else if current != nil, trimmed == "```" {
                result.append(current!.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return result
    }

    /// The regions of the sample files between `// sample: NAME` and `// end sample`, by name.
    static func samples() throws -> [String: String] {
        let folder = root.appendingPathComponent("Tests/RecurDocumentationTests")
        var result: [String: String] = [:]
        for file in try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            where file.pathExtension == "swift" {
            var name: String? = nil, lines: [Substring] = []
            for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("// sample: ") {
                    name = String(trimmed.dropFirst("// sample: ".count))
                    lines = []
                } else if trimmed == "// end sample", let current = name {
                    result[current] = normalized(lines.joined(separator: "\n"))
                    name = nil
                } else if name != nil {
                    lines.append(line)
                }
            }
        }
        return result
    }

    /// The code without `import` lines, blank lines at either end and the indentation its lines share.
    static func normalized(_ code: String) -> String {
        var lines = code.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            .filter { !$0.hasPrefix("import ") }
        while lines.first?.trimmingCharacters(in: .whitespaces).isEmpty == true { lines.removeFirst() }
        while lines.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { lines.removeLast() }
        let indentation = lines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            .map { $0.prefix { $0 == " " }.count }.min() ?? 0
        return lines.map { $0.trimmingCharacters(in: .whitespaces).isEmpty ? "" : String($0.dropFirst(indentation)) }
            .joined(separator: "\n")
    }
}

@Suite("Documentation")
struct DocumentationTests {
    @Test("every Swift block of the README and the articles is sample code that the tests compile and run")
    func blocksAreSamples() throws {
        let samples = try Documents.samples()
        #expect(samples.count >= 6, "the sample regions were found: \(samples.keys.sorted())")
        var checked = 0
        for file in try Documents.markdownFiles() {
            let text = try String(contentsOf: file, encoding: .utf8)
            for block in Documents.blocks("swift", in: text) {
                let code = Documents.normalized(block)
                #expect(samples.values.contains(code),
                        "a Swift block of \(file.lastPathComponent) is not a sample region of Tests/RecurDocumentationTests:\n\(code)")
                checked += 1
            }
        }
        #expect(checked >= 8, "Swift blocks found in the documents: \(checked)")
    }

    @Test("the README has at most about 200 lines, and every relative link in it points at a file")
    func readme() throws {
        let text = try String(contentsOf: Documents.root.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(text.split(separator: "\n", omittingEmptySubsequences: false).count <= 210)
        let links = text.matches(of: /\]\(([^)#:]+)(#[^)]*)?\)/).map { String($0.output.1) }
        #expect(!links.isEmpty)
        for link in links {
            #expect(FileManager.default.fileExists(atPath: Documents.root.appendingPathComponent(link).path), "\(link)")
        }
    }

    @Test("the layer sample gives the shapes its comments state, and a gradient for every weight")
    func layers() {
        let result = layerSample()
        #expect(result.outputs == [3, 2, 10] && result.last == [2, 10] && result.hidden == [4, 2, 5])
        #expect(result.inputGradient == [3, 2, 4])
        #expect(result.gradientCount == 16, "4 tensors per layer and direction, 2 layers, 2 directions")
    }

    @Test("the loss sample gives a finite loss and the gradients its comments name")
    func loss() {
        let result = lossSample()
        #expect(result.loss.isFinite && result.loss > 0 && result.hiddenGradient == [3, 2, 256])
        #expect(result.decoderGradient > 0)
    }

    @Test("Getting started: trains on a text file, writes its files, samples, scores, and opens the model")
    func gettingStarted() throws {
        let folder = try temporaryFolder("getting-started")
        defer { try? FileManager.default.removeItem(at: folder) }
        let corpus = folder.appendingPathComponent("notes.txt")
        let lines = ["The apple and pear salad is good.", "A pear and an apple make a salad.", "The salad has a pear in it."]
        try Data((0..<300).map { lines[$0 % 3] }.joined(separator: "\n").utf8).write(to: corpus)
        let result = try gettingStartedSample(corpus: corpus, folder: folder)
        #expect(result.outcome == .finished)
        #expect(result.sample.count == 200)
        #expect(result.ranked == ["The apple and pear salad.", "The apple and pair salad."],
                "the model has read about pears, never about pairs")
        for name in ["notes.recur", "notes.best.recur", "notes.log.jsonl", "notes.loss.svg"] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path), "\(name)")
        }
        let opened = try openingSample(path: folder.appendingPathComponent("notes.recur").path)
        #expect(opened.vocabularySize > 15 && (opened.step ?? 0) > 0)
    }

    @Test("the tutorial trains the course's dinosaur-name RNN and samples names",
          .enabled(if: SharedData.has("dinos/dinos.txt"), "needs ../shared/data/dinos/dinos.txt beside the repository"))
    func tutorialOnTheCourseData() throws {
        let folder = try temporaryFolder("tutorial")
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try dinosaurTutorial(namesFile: SharedData.url("dinos/dinos.txt"), folder: folder, steps: 22_000)
        #expect(result.vocabularySize == 27)
        #expect(result.lastSmoothedLoss < 23, "the course's figure: just under 23 by step 22,000")
        #expect(result.names.count == 7 && result.names.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isLetter) })
    }

    @Test("the tutorial runs on a list of names of the reader's own")
    func tutorialOnOwnNames() throws {
        let folder = try temporaryFolder("tutorial-own")
        defer { try? FileManager.default.removeItem(at: folder) }
        let names = folder.appendingPathComponent("names.txt")
        try Data(["Aachenosaurus", "Aardonyx", "Abelisaurus", "Brachiosaurus", "Triceratops", "Tyrannosaurus",
                  "Velociraptor", "Stegosaurus", "Iguanodon", "Diplodocus"].joined(separator: "\n").utf8).write(to: names)
        let result = try dinosaurTutorial(namesFile: names, folder: folder, steps: 3_000)
        #expect(result.lastSmoothedLoss < result.firstSmoothedLoss)
        #expect(result.names.count == 7)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("dinos.recur").path))
    }

    @Test("the Training article's run stops when asked, and the same code resumes it to the end, bit for bit")
    func resuming() throws {
        let folder = try temporaryFolder("resuming"), straight = try temporaryFolder("resuming-straight")
        defer { try? FileManager.default.removeItem(at: folder); try? FileManager.default.removeItem(at: straight) }
        let text = String(repeating: "the apple and pear salad. a pear and an apple. ", count: 400)
        let vocabulary = Vocabulary(characters: text)
        let tokens = try vocabulary.encode(text)
        func model() -> LanguageModel {
            var generator = SeededGenerator(seed: 5)
            return LanguageModel(LanguageModelConfiguration(
                vocabularySize: vocabulary.count, embeddingSize: 8,
                recurrent: RecurrentConfiguration(cell: .gru, inputSize: 8, hiddenSize: 16), startToken: "\n"),
                using: &generator)
        }
        let training = Array(tokens[..<15_000]), validation = Array(tokens[15_000...])
        var steps = 0
        let first = try resumingSample(model: model(), vocabulary: vocabulary, training: training, validation: validation,
                                       folder: folder, stopRequested: { steps += 1; return steps >= 250 })
        #expect(first.outcome == .interrupted && first.step == 250)
        let resumedModel = model()
        let resumed = try resumingSample(model: resumedModel, vocabulary: vocabulary, training: training,
                                         validation: validation, folder: folder, stopRequested: { false })
        let straightModel = model()
        let whole = try resumingSample(model: straightModel, vocabulary: vocabulary, training: training,
                                       validation: validation, folder: straight, stopRequested: { false })
        #expect(resumed.step == whole.step && resumed.outcome == whole.outcome)
        for (a, b) in zip(resumedModel.parameters, straightModel.parameters) {
            #expect(a.value.scalars == b.value.scalars, "\(a.name)")
        }
    }

    @Test("the Classifiers article's sample trains a classifier that learns its labels")
    func classifier() throws {
        let folder = try temporaryFolder("classifier-sample")
        defer { try? FileManager.default.removeItem(at: folder) }
        let sentences = [("The food was great", "pos"), ("Never again, awful", "neg"), ("Lovely staff and great coffee", "pos"),
                         ("Cold food and rude service", "neg"), ("Great place, lovely food", "pos"), ("Awful coffee", "neg")]
        let rows = (0..<300).map { sentences[$0 % sentences.count] }
        let metrics = try classifierSample(texts: rows.map(\.0), labels: rows.map(\.1), folder: folder)
        #expect(metrics.labels == ["neg", "pos"] && metrics.count == 60)
        #expect(metrics.accuracy > 0.95, "\(metrics.text())")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("reviews.best.recur").path))
    }

    @Test("the Taggers article's sample trains a BiLSTM-CRF that tags a new sentence of known words")
    func tagger() throws {
        let folder = try temporaryFolder("tagger-sample")
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try taggerSample(folder: folder) == ["B-PER", "O", "B-LOC"])
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("ner.best.recur").path))
    }
}
