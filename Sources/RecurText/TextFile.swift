import Foundation

/// Reads a text file as UTF-8, refusing what is not text with a message a user can act on.
public enum TextFile {
    /// The file's text.
    /// - Parameter replacingInvalid: decode bytes that are not UTF-8 as U+FFFD instead of refusing the file.
    /// - Throws: `TextFileError` when the file is missing, empty, binary (contains a NUL byte), or not valid
    ///   UTF-8 (with the byte offset and line of the first bad byte).
    public static func read(_ path: String, replacingInvalid: Bool = false) throws(TextFileError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isFolder: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
            throw TextFileError(path: path, problem: !exists ? "there is no such file" : isFolder.boolValue ? "it is a folder, not a file" : "it cannot be read")
        }
        return try decode(data, path: path, replacingInvalid: replacingInvalid)
    }

    /// Checks and decodes bytes read from `path`.
    public static func decode(_ data: Data, path: String, replacingInvalid: Bool = false) throws(TextFileError) -> String {
        if data.isEmpty { throw TextFileError(path: path, problem: "the file is empty") }
        let bytes = [UInt8](data)
        if let zero = bytes.firstIndex(of: 0) {
            throw TextFileError(path: path, problem: "it looks binary, not text (a NUL byte at offset \(zero), line \(line(of: zero, in: bytes)))")
        }
        if replacingInvalid { return String(decoding: bytes, as: UTF8.self) }
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0, start = 0
        var text = String.UnicodeScalarView()
        loop: while true {
            start = offset
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                text.append(scalar)
                offset += UTF8.width(scalar)
            case .emptyInput:
                break loop
            case .error:
                throw TextFileError(path: path, problem: "it is not valid UTF-8 (a bad byte 0x\(String(bytes[start], radix: 16, uppercase: true)) at offset \(start), line \(line(of: start, in: bytes))); --replace-invalid-utf8 reads such bytes as U+FFFD")
            }
        }
        return String(text)
    }

    private static func line(of offset: Int, in bytes: [UInt8]) -> Int {
        1 + bytes[..<offset].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }
}

public struct TextFileError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}
