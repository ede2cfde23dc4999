import Foundation
import RecurCore

/// Recur's one checkpoint format: a safetensors file (so Python tools read the weights with
/// `safetensors.safe_open`) whose `__metadata__` says what it is and guards it:
///
///     "format":          "recur-checkpoint"
///     "format_version":  "1"
///     "recur":           a JSON document (the model configuration, vocabulary, optimizer and training state)
///     "checksum":        "crc32:xxxxxxxx" — CRC-32 of the whole file with these eight digits read as zeros
///
/// The checksum covers the length, the header and every tensor byte, so a flipped bit anywhere is caught on
/// load. Saving goes through `AtomicFile`: a kill at any moment leaves the old file or the new one.
public struct CheckpointFile: Sendable {
    /// The `format` metadata value of every Recur checkpoint.
    public static let format = "recur-checkpoint"
    /// The `format_version` this Recur writes and reads.
    public static let formatVersion = 1

    /// The tensors, in file order (model parameters first, then optimizer and training state).
    public var tensors: [(name: String, value: Tensor)]
    /// The "recur" JSON document.
    public var document: Data

    /// A checkpoint of these tensors, in this order, and this "recur" JSON document.
    public init(tensors: [(name: String, value: Tensor)], document: Data) {
        self.tensors = tensors
        self.document = document
    }

    /// The tensor named `name`, or nil.
    public subscript(name: String) -> Tensor? { tensors.first { $0.name == name }?.value }

    // MARK: - Saving

    private var safetensors: Safetensors {
        Safetensors(tensors: tensors, metadata: ["format": Self.format, "format_version": "\(Self.formatVersion)",
                                                 "recur": String(decoding: document, as: UTF8.self),
                                                 "checksum": "crc32:00000000"])
    }

    /// The file's bytes, checksum included.
    public func encoded() -> [UInt8] {
        var bytes = safetensors.encoded()
        let digits = bytes.withUnsafeBytes { Self.checksumDigits(in: $0, within: try! Safetensors.headerRange($0)) }!
        let crc = bytes.withUnsafeBytes { CRC32.checksum($0) }
        bytes.replaceSubrange(digits, with: Self.hexDigits(crc))
        return bytes
    }

    /// Writes the file atomically, streaming the tensors from memory: the header goes first with the checksum
    /// digits as zeros, the CRC runs over everything as it is written, and the digits are filled in last.
    public func save(to url: URL) throws(CheckpointError) {
        let file = safetensors
        let header = file.encodedHeader()
        let digits = header.withUnsafeBytes { Self.checksumDigits(in: $0, within: 8..<header.count) }!
        var crc = CRC32()
        header.withUnsafeBytes { crc.update($0) }
        do {
            try AtomicFile.write(to: url) { output in
                try header.withUnsafeBytes { try output.append($0) }
                for (_, tensor) in file.tensors {
                    try Safetensors.withLittleEndianBytes(tensor) { bytes in
                        crc.update(bytes)
                        try output.append(bytes)
                    }
                }
                try Self.hexDigits(crc.value).withUnsafeBytes { try output.overwrite(at: digits.lowerBound, with: $0) }
            }
        } catch {
            throw CheckpointError(path: url.path, problem: .unwritable("\(error)"))
        }
    }

    /// Eight lowercase hex digits.
    private static func hexDigits(_ value: UInt32) -> [UInt8] { Array(String(format: "%08x", value).utf8) }

    // MARK: - Loading

    /// Reads and checks a checkpoint: its checksum, format and version. What it holds is checked by its user.
    public static func load(from url: URL) throws(CheckpointError) -> CheckpointFile {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            var isFolder: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder)
            let reason = !exists ? "there is no such file" : isFolder.boolValue ? "it is a folder, not a model file" : "it cannot be read"
            throw CheckpointError(path: url.path, problem: .unreadable(reason))
        }
        do {
            return try data.withUnsafeBytes { bytes throws(CheckpointError.Problem) in try decode(bytes) }
        } catch let problem as CheckpointError.Problem {
            throw CheckpointError(path: url.path, problem: problem)
        } catch {
            throw CheckpointError(path: url.path, problem: .corrupt("\(error)"))
        }
    }

    /// Checks and reads a checkpoint's bytes.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(CheckpointError.Problem) -> CheckpointFile {
        if bytes.isEmpty { throw .notACheckpoint("the file is empty") }
        let header: Range<Int>
        do {
            header = try Safetensors.headerRange(bytes)
        } catch {
            // A damaged checkpoint still has its header's opening brace after the 8-byte length; other files do not.
            if bytes.count < 9 || bytes[8] != UInt8(ascii: "{") {
                throw .notACheckpoint("a model file is a safetensors file written by recur train, and this file does not start like one")
            }
            throw .corrupt(error.description)
        }
        // The checksum first: a damaged file is reported as damaged, whatever else it seems to say.
        guard let digits = checksumDigits(in: bytes, within: header) else {
            throw .notACheckpoint("it has no Recur checksum (is it a plain safetensors file? import those with import-torch)")
        }
        // Exactly eight lowercase hex digits, as written: "A" for "a" would otherwise pass as the same number.
        let storedDigits = String(decoding: bytes[digits], as: UTF8.self)
        guard storedDigits.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
              let stored = UInt32(storedDigits, radix: 16) else {
            throw .corrupt("the checksum field is damaged")
        }
        var crc = CRC32()
        crc.update(UnsafeRawBufferPointer(rebasing: bytes[..<digits.lowerBound]))
        Array(repeating: UInt8(ascii: "0"), count: 8).withUnsafeBytes { crc.update($0) }
        crc.update(UnsafeRawBufferPointer(rebasing: bytes[digits.upperBound...]))
        guard crc.value == stored else {
            throw .corrupt(String(format: "its checksum does not match (stored %08x, computed %08x): the file was changed or damaged",
                                  stored, crc.value))
        }
        let file: Safetensors
        do {
            file = try Safetensors.decode(bytes)
        } catch {
            throw .corrupt(error.description)
        }
        guard file.metadata["format"] == format else { throw .notACheckpoint("its format is not \(format)") }
        guard let version = file.metadata["format_version"].flatMap(Int.init) else {
            throw .corrupt("it has no format version")
        }
        guard version == formatVersion else {
            throw .version(found: version, supported: formatVersion)
        }
        guard let document = file.metadata["recur"] else { throw .corrupt("it has no \"recur\" document") }
        return CheckpointFile(tensors: file.tensors, document: Data(document.utf8))
    }

    /// The byte range of the eight checksum digits in the header, if the header has exactly one checksum field.
    private static func checksumDigits(in bytes: UnsafeRawBufferPointer, within searched: Range<Int>) -> Range<Int>? {
        let marker = Array(#""checksum":"crc32:"#.utf8)
        var found: Range<Int>? = nil
        var index = searched.lowerBound
        while index + marker.count + 8 <= searched.upperBound {
            if bytes[index] == marker[0] && (0..<marker.count).allSatisfy({ bytes[index + $0] == marker[$0] }) {
                if found != nil { return nil }
                found = (index + marker.count)..<(index + marker.count + 8)
            }
            index += 1
        }
        return found
    }
}

/// A checkpoint that could not be saved or loaded: the file, and what is wrong with it.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    /// What is wrong with a checkpoint file.
    public enum Problem: Error, Equatable, CustomStringConvertible {
        /// The file could not be read (missing, a folder, no permission).
        case unreadable(String)
        /// The file could not be written.
        case unwritable(String)
        /// The file is not a Recur checkpoint (another format, or not safetensors at all).
        case notACheckpoint(String)
        /// The file is damaged or truncated: its checksum, header or offsets are wrong.
        case corrupt(String)
        /// The file has a format version this Recur does not read.
        case version(found: Int, supported: Int)
        /// It is a valid checkpoint, but not of this model (configuration, tensor names or shapes differ).
        case mismatch(String)

        public var description: String {
            switch self {
            case .unreadable(let why): why
            case .unwritable(let why): why
            case .notACheckpoint(let why): "not a Recur checkpoint: \(why)"
            case .corrupt(let why): "damaged or truncated: \(why)"
            case .version(let found, let supported):
                "format version \(found) is not one this Recur reads (it reads \(supported)); \(found > supported ? "use a newer Recur" : "it is too old")"
            case .mismatch(let why): "it does not fit: \(why)"
            }
        }
    }

    /// The file.
    public var path: String
    /// What is wrong with it.
    public var problem: Problem

    /// An error about the file at `path`.
    public init(path: String, problem: Problem) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}
