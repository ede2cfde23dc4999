import Foundation

/// The project's shared data sets, `../shared/data` beside the repository (never committed).
enum SharedData {
    static let folder: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data")

    /// The file at `path` under the data folder, or nil (with the reason printed) when it is not there.
    static func file(_ path: String) -> URL? {
        let url = folder.appendingPathComponent(path)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        print("skipping: \(url.path) is not here (the shared data sets live in ../shared/data beside the repository)")
        return nil
    }
}
