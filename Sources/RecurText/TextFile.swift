import Foundation

/// Reads a text file as UTF-8, refusing what is not text with a message a user can act on.
public enum TextFile {
    /// The file's text.
    /// - Parameters:
    ///   - path: the file, named in every error.
    ///   - replacingInvalid: decode bytes that are not UTF-8 as U+FFFD instead of refusing the file.
    /// - Throws: `TextFileError` when the file is missing, empty, binary (contains a NUL byte), or not valid
    ///   UTF-8 (with the byte offset and line of the first bad byte).
    public static func read(_ path: String, replacingInvalid: Bool = false) throws(TextFileError) -> String {
        try decode(contents(path), path: path, replacingInvalid: replacingInvalid)
    }

    /// The file's bytes, whatever they are.
    /// - Throws: `TextFileError` when the file is missing, a folder, or cannot be read.
    public static func contents(_ path: String) throws(TextFileError) -> Data {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue { throw unreadable(path) }
        guard let data = FileManager.default.contents(atPath: path) else { throw unreadable(path) }
        return data
    }

    /// Why `path` could not be opened.
    private static func unreadable(_ path: String) -> TextFileError {
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
        return TextFileError(path: path, problem: !exists ? "there is no such file"
                             : isFolder.boolValue ? "it is a folder, not a file" : "it cannot be read")
    }

    /// Reads the file a piece at a time, so that a corpus larger than memory never has to be held whole: calls
    /// `body` with consecutive pieces of about `pieceBytes` bytes that together are the file's text, with the
    /// same checks and messages as `read` (offsets and lines count from the file's start).
    ///
    /// Each piece ends just after a '\n' when one lies in reach; otherwise (a very long line) just before an ASCII
    /// space or tab — or, with `cutsAnywhereASCII`, before any printable ASCII character — so that no character
    /// (grapheme cluster) and no word is split. `endsLine` tells `body` whether the piece ends its last line: false
    /// only when a long line was cut.
    public static func forEachPiece(_ path: String, pieceBytes: Int = 1 << 22, replacingInvalid: Bool = false,
                                    cutsAnywhereASCII: Bool = false,
                                    _ body: (_ text: String, _ endsLine: Bool) throws -> Void) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw unreadable(path) }
        defer { try? handle.close() }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue { throw unreadable(path) }
        var pending: [UInt8] = [], atEnd = false, offset = 0, line = 1, want = pieceBytes
        while true {
            while !atEnd && pending.count < want {
                let data: Data?
                do { data = try handle.read(upToCount: want - pending.count) } catch {
                    throw TextFileError(path: path, problem: "it cannot be read (\(error.localizedDescription))")
                }
                if let data, !data.isEmpty { pending.append(contentsOf: data) } else { atEnd = true }
            }
            if pending.isEmpty {
                if offset == 0 { throw TextFileError(path: path, problem: "the file is empty") }
                return
            }
            var cut = pending.count, endsLine = true
            if !atEnd {
                if let newline = pending.lastIndex(of: 0x0A) {
                    cut = newline + 1
                } else if let boundary = pending.lastIndex(where: { $0 == 0x20 || $0 == 0x09
                                                           || (cutsAnywhereASCII && $0 > 0x20 && $0 < 0x7F) }),
                          boundary > 0 {
                    cut = boundary
                    endsLine = false
                } else {
                    want *= 2   // no place to cut yet: read on
                    continue
                }
            }
            let text = try decode(pending[..<cut], path: path, startOffset: offset, startLine: line,
                                  replacingInvalid: replacingInvalid)
            line += pending[..<cut].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            offset += cut
            pending.removeFirst(cut)
            want = pieceBytes
            try body(text, endsLine)
        }
    }

    /// Checks and decodes bytes read from `path`.
    public static func decode(_ data: Data, path: String, replacingInvalid: Bool = false) throws(TextFileError) -> String {
        if data.isEmpty { throw TextFileError(path: path, problem: "the file is empty") }
        return try decode([UInt8](data)[...], path: path, startOffset: 0, startLine: 1, replacingInvalid: replacingInvalid)
    }

    /// Checks and decodes `bytes`, which begin at byte `startOffset` and line `startLine` of `path`.
    private static func decode(_ bytes: ArraySlice<UInt8>, path: String, startOffset: Int, startLine: Int,
                               replacingInvalid: Bool) throws(TextFileError) -> String {
        func place(_ index: Int) -> String {
            "at offset \(startOffset + index - bytes.startIndex), line \(startLine + line(of: index, in: bytes))"
        }
        if let zero = bytes.firstIndex(of: 0) {
            throw TextFileError(path: path, problem: "it looks binary, not text (a NUL byte \(place(zero)))")
        }
        if replacingInvalid { return String(decoding: bytes, as: UTF8.self) }
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        // Invalid: find the first bad byte.
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var index = bytes.startIndex
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                index += UTF8.width(scalar)
            case .emptyInput:
                return String(decoding: bytes, as: UTF8.self)
            case .error:
                throw TextFileError(path: path, problem: "it is not valid UTF-8 (a bad byte 0x\(String(bytes[index], radix: 16, uppercase: true)) \(place(index))); --replace-invalid-utf8 reads such bytes as U+FFFD")
            }
        }
    }

    /// Line breaks before `index` in `bytes`.
    private static func line(of index: Int, in bytes: ArraySlice<UInt8>) -> Int {
        bytes[..<index].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }
}

/// A file that could not be read as text: the file, and what is wrong (with the byte offset and line where it applies).
public struct TextFileError: Error, CustomStringConvertible, Equatable {
    /// The file.
    public var path: String
    /// What is wrong with it.
    public var problem: String

    /// An error about the file at `path`.
    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}
