import Foundation
import Testing

@Suite("recur command line", .serialized)
struct CommandLineTests {
    @Test("recur demo names the kernel and reports speeds")
    func demo() throws {
        let output = try RecurBinary.run(["demo"])
        #expect(output.status == 0, "stderr: \(output.standardError)")
        #expect(output.standardOutput.contains("CPU kernel: "))
        #expect(output.standardOutput.contains("GFLOP/s"))
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
        #expect(object?["transA"] as? Bool == false && object?["transB"] as? Bool == true)
        #expect(object?["threads"] as? Int == 2)
        #expect((object?["gflops"] as? Double ?? 0) > 0)
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
        let forced = try RecurBinary.run(["demo"], environment: ["RECUR_KERNEL": "portable"])
        #expect(forced.status == 0 && forced.standardOutput.contains("CPU kernel: portable"))
        let unknown = try RecurBinary.run(["demo"], environment: ["RECUR_KERNEL": "sse9"])
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
