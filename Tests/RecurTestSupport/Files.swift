import Foundation

/// A fresh folder for one test's files, in the temporary directory.
public func temporaryFolder(_ name: String) throws -> URL {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("recur-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

/// Writes `bytes` to a fresh temporary file and returns its path.
public func temporaryFile(_ bytes: [UInt8], _ name: String = "text") throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("recur-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).txt").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

/// The project's shared data sets, `../shared/data` beside the repository (never committed).
///
/// A test that needs one is marked `.enabled(if: SharedData.has("dinos/dinos.txt"))`, so that it shows as
/// skipped, with the reason, where the folder is absent.
public enum SharedData {
    public static let folder: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data")

    /// Whether the file at `path` under the data folder is here.
    public static func has(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: url(path).path)
    }

    /// The file at `path` under the data folder (it may not exist: ask ``has(_:)`` first).
    public static func url(_ path: String) -> URL { folder.appendingPathComponent(path) }
}

/// A committed fixture file could not be read: names the file and the script that writes it.
public struct FixtureError: Error, CustomStringConvertible {
    public var description: String
}

/// Decodes a committed JSON fixture; a missing or malformed file fails the test that asked for it, naming the
/// file and the script that regenerates it, instead of stopping the whole run.
public func loadFixture<T: Decodable>(_ type: T.Type, from url: URL, writtenBy script: String) throws -> T {
    do {
        return try JSONDecoder().decode(type, from: Data(contentsOf: url))
    } catch {
        throw FixtureError(description: "cannot read \(url.path): \(error) — regenerate it with \(script)")
    }
}
