import Foundation
import Testing
import RecurTestSupport

/// Runs the built `recur` executable, as a user would, and captures what it prints.
struct RecurBinary {
    struct Output {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    /// The `recur` built beside the test bundle (the test target depends on it, so it is built first).
    static var url: URL { get throws { try located.get() } }

    private struct NotFound: Error, CustomStringConvertible { var description: String }

    private static let located: Result<URL, NotFound> = {
        var candidates: [URL] = []
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        candidates.append(URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent())
        for directory in candidates {
            let binary = directory.appendingPathComponent("recur")
            if FileManager.default.isExecutableFile(atPath: binary.path) { return .success(binary) }
        }
        return .failure(NotFound(description: "recur executable not found beside the tests in \(candidates.map(\.path))"))
    }()

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Output {
        let process = Process()
        process.executableURL = try url
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { $1 }
        process.environment = merged
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      standardOutput: String(decoding: outData, as: UTF8.self),
                      standardError: String(decoding: errData, as: UTF8.self))
    }

    /// Whether the binary was built with optimization (benchmarks refuse debug builds).
    static var isReleaseBuild: Bool { (try? url)?.path.contains("/release/") ?? false }
}

/// A folder for files that several tests of a suite share (models trained once), removed when the test process
/// exits: a suite has no teardown of its own, and a folder per run left in the temporary directory adds up.
enum SharedTestFolder {
    /// The names `make` gives out; the folder of each is `recur-<name>-<pid>` in the temporary directory.
    static let names = ["cli-models", "onnx", "classifier", "tagger"]

    static func make(_ name: String) -> URL {
        precondition(names.contains(name), "add \(name) to SharedTestFolder.names, so that it is removed")
        _ = removalAtExit
        let url = path(name)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private static func path(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("recur-\(name)-\(getpid())")
    }

    private static let removalAtExit: Void = {
        atexit {
            for name in SharedTestFolder.names { try? FileManager.default.removeItem(at: SharedTestFolder.path(name)) }
        }
    }()
}
