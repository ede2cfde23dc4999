import Foundation
import Testing
import RecurTestSupport

@Suite("recur command line", .serialized)
struct CommandLineTests {
    /// The full demo runs in CI as the README's first command; here a short one checks its parts and that the
    /// same seed gives the same output.
    @Test("recur demo trains, samples as it learns, ranks two sentences, and repeats itself exactly")
    func demo() throws {
        let arguments = ["demo", "--steps", "40", "--sample-every", "20", "--quiet", "--threads", "1"]
        // The demo leaves its model in the temporary folder: give it one of the test's own.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("recur-demo-test-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try RecurBinary.run(arguments, environment: ["TMPDIR": folder.path])
        let second = try RecurBinary.run(arguments, environment: ["TMPDIR": folder.path])
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("recur-demo/demo.recur").path))
        #expect(first.status == 0, "stderr: \(first.standardError)")
        let lines = first.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("Recur — recurrent sequence models in Swift (kernel "))
        // Samples go with the progress, to standard error (so they interleave with a live bar).
        let samples = first.standardError.split(separator: "\n").filter { $0.hasPrefix("sample at step ") }
        #expect(samples.map { $0.prefix(18) } == ["sample at step 0: ", "sample at step 20:", "sample at step 40:"])
        #expect(samples == second.standardError.split(separator: "\n").filter { $0.hasPrefix("sample at step ") })
        #expect(lines.contains("Which sentence did the speaker say? log P from the model, most likely first:"))
        #expect(lines.filter { $0.hasSuffix(" salad.") }.count == 2)
        #expect(first.standardError.contains("step 40/40"))
        func stable(_ text: String) -> [String] { text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("Trained in") } }
        #expect(stable(first.standardOutput) == stable(second.standardOutput), "the demo is deterministic")
    }

    @Test("recur bench gemm --json prints one object per line with the documented keys")
    func benchJSON() throws {
        let output = try RecurBinary.run(["bench", "gemm", "--m", "7", "--n", "33", "--k", "5", "--threads", "2",
                                          "--transpose-b", "--window", "0.01", "--repeats", "1", "--json"])
        guard RecurBinary.isReleaseBuild else {
            #expect(output.status != 0 && output.standardError.contains("release"))
            return
        }
        #expect(output.status == 0, "stderr: \(output.standardError)")
        let lines = output.standardOutput.split(separator: "\n")
        #expect(lines.count == 1)
        let object = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(object?["m"] as? Int == 7 && object?["n"] as? Int == 33 && object?["k"] as? Int == 5)
        #expect(object?["transpose_a"] as? Bool == false && object?["transpose_b"] as? Bool == true)
        #expect(object?["threads"] as? Int == 2)
        #expect((object?["gflops"] as? Double ?? 0) > 0)
    }

    @Test("recur bench peak --json prints the documented keys; a bad window is refused")
    func benchPeakJSON() throws {
        let output = try RecurBinary.run(["bench", "peak", "--threads", "2", "--window", "0.01", "--repeats", "1", "--json"])
        let refused = try RecurBinary.run(["bench", "peak", "--window", "0"])
        #expect(refused.status != 0)
        guard RecurBinary.isReleaseBuild else {
            #expect(output.status != 0 && output.standardError.contains("release"))
            return
        }
        #expect(refused.standardError.contains("--window must be in (0, 60] seconds, got 0.0"))
        #expect(output.status == 0, "stderr: \(output.standardError)")
        let object = try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any]
        #expect(object?["threads"] as? Int == 2)
        let total = object?["gflops"] as? Double ?? 0, perThread = object?["gflops_per_thread"] as? Double ?? 0
        #expect(total > 0 && abs(total - 2 * perThread) < 0.02)
    }

    @Test("recur bench rnn --json prints the documented keys", arguments: ["train", "infer", "step"])
    func benchRNNJSON(mode: String) throws {
        let output = try RecurBinary.run(["bench", "rnn", "--cell", "gru", "--gru-variant", "course", "--input-size", "3",
                                          "--hidden-size", "5", "--layers", "2", "--batch-size", "4",
                                          "--sequence-length", "6", "--mode", mode, "--repeats", "1",
                                          "--min-time", "0.01", "--json"])
        guard RecurBinary.isReleaseBuild else {
            #expect(output.status != 0 && output.standardError.contains("release"))
            return
        }
        #expect(output.status == 0, "stderr: \(output.standardError)")
        let object = try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any]
        let config = object?["config"] as? [String: Any]
        #expect(config?["cell"] as? String == "gru" && config?["gru_variant"] as? String == "course")
        #expect(config?["hidden_size"] as? Int == 5 && config?["layers"] as? Int == 2 && config?["batch_size"] as? Int == 4)
        #expect(object?["mode"] as? String == mode)
        let tokensPerSecond = object?["tokens_per_second"] as? Double ?? 0
        let microseconds = object?["microseconds_per_token"] as? Double ?? 0
        #expect(tokensPerSecond > 0 && abs(tokensPerSecond * microseconds / 1e6 - 1) < 0.01)
        #expect((object?["peak_rss_mb"] as? Double ?? 0) > 1)
    }

    @Test("RECUR_KERNEL=portable forces the portable kernel; an unknown name is reported and ignored")
    func kernelEnvironment() throws {
        let short = ["demo", "--steps", "1", "--quiet"]
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("recur-kernel-test-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let forced = try RecurBinary.run(short, environment: ["RECUR_KERNEL": "portable", "TMPDIR": folder.path])
        #expect(forced.status == 0 && forced.standardOutput.contains("(kernel portable, "))
        let unknown = try RecurBinary.run(short, environment: ["RECUR_KERNEL": "sse9", "TMPDIR": folder.path])
        #expect(unknown.status == 0 && unknown.standardError.contains("RECUR_KERNEL=sse9"))
    }

    @Test("Wrong flag values exit non-zero with a message naming the option",
          arguments: [
              (["bench", "gemm", "--threads", "0"], "--threads"),
              (["bench", "gemm", "--m", "0"], "--m"),
              (["bench", "gemm", "--kernel", "sse9"], "--kernel"),
              (["bench", "gemm", "--window", "-1"], "--window"),
              (["bench", "gemm", "--k", "many"], "--k"),
              (["bench", "rnn", "--cell", "transformer"], "--cell"),
              (["bench", "rnn", "--gru-variant", "keras"], "--gru-variant"),
              (["bench", "rnn", "--activation", "sigmoid"], "--activation"),
              (["bench", "rnn", "--mode", "fast"], "--mode"),
              (["bench", "rnn", "--hidden-size", "0"], "--hidden-size"),
              (["bench", "rnn", "--batch-size", "-3"], "--batch-size"),
              (["bench", "rnn", "--mode", "step", "--bidirectional"], "--mode step"),
              (["bench", "rnn", "--threads", "0"], "--threads"),
              (["no-such-command"], "no-such-command"),
          ])
    func badFlags(arguments: [String], option: String) throws {
        let output = try RecurBinary.run(arguments)
        #expect(output.status != 0)
        #expect(output.standardError.contains(option), "stderr: \(output.standardError)")
        #expect(!output.standardError.contains("Fatal error") && !output.standardError.contains("crashed"))
    }
}
