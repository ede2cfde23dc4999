import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
private let systemWrite = Glibc.write
private let systemPositionedWrite = Glibc.pwrite
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
private let systemPositionedWrite = Darwin.pwrite
#endif

/// Writes files so that a crash or a kill at any moment leaves either the old file or the new one, whole.
///
/// The bytes go to a temporary file in the same folder (same file system, so the rename is atomic), which is
/// flushed to disk (`fsync`) before `rename` puts it in place; the folder is then flushed too, so the rename
/// itself survives a power cut. Temporary files of killed processes are removed by the next save.
public enum AtomicFile {
    /// The temporary file being written.
    public struct Output {
        fileprivate let descriptor: Int32
        fileprivate let path: String

        /// Appends `bytes`.
        public func append(_ bytes: UnsafeRawBufferPointer) throws {
            var written = 0
            while written < bytes.count {
                let result = systemWrite(descriptor, bytes.baseAddress! + written, bytes.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    throw AtomicFileError(path: path, operation: "write", code: errno)
                }
                written += result
            }
        }

        /// Replaces bytes already written, starting at `offset`.
        public func overwrite(at offset: Int, with bytes: UnsafeRawBufferPointer) throws {
            var written = 0
            while written < bytes.count {
                let result = systemPositionedWrite(descriptor, bytes.baseAddress! + written, bytes.count - written,
                                                   off_t(offset + written))
                if result < 0 {
                    if errno == EINTR { continue }
                    throw AtomicFileError(path: path, operation: "write", code: errno)
                }
                written += result
            }
        }
    }

    /// Replaces (or creates) `url` with what `produce` writes.
    /// - Throws: `AtomicFileError` naming the file and the system's reason (or what `produce` threw); the old
    ///   file is then untouched and the temporary one removed.
    public static func write(to url: URL, _ produce: (Output) throws -> Void) throws {
        let path = url.path
        let folder = url.deletingLastPathComponent().path
        let temporary = folder + "/." + url.lastPathComponent + ".partial-\(getpid())"
        removeAbandonedPartials(of: url)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw AtomicFileError(path: path, operation: "create \(temporary)", code: errno) }
        do {
            try produce(Output(descriptor: descriptor, path: temporary))
            if fsync(descriptor) != 0 { throw AtomicFileError(path: path, operation: "flush \(temporary)", code: errno) }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        close(descriptor)
        if rename(temporary, path) != 0 {
            let code = errno
            unlink(temporary)
            throw AtomicFileError(path: path, operation: "rename \(temporary) to it", code: code)
        }
        let folderDescriptor = open(folder.isEmpty ? "." : folder, O_RDONLY)
        if folderDescriptor >= 0 {
            _ = fsync(folderDescriptor)
            close(folderDescriptor)
        }
    }

    /// Replaces (or creates) `url` with `bytes`.
    public static func write(_ bytes: UnsafeRawBufferPointer, to url: URL) throws {
        try write(to: url) { try $0.append(bytes) }
    }

    /// Deletes temporary files of `url` left by processes that were killed while saving (their process is gone).
    static func removeAbandonedPartials(of url: URL) {
        let folder = url.deletingLastPathComponent().path
        let prefix = "." + url.lastPathComponent + ".partial-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(folder + "/" + name) }
        }
    }
}

/// A file that could not be written, and why.
public struct AtomicFileError: Error, CustomStringConvertible {
    /// The file being written.
    public var path: String
    /// The system call that failed (`open`, `write`, `fsync`, `rename`).
    public var operation: String
    /// Its `errno`.
    public var code: Int32

    public var description: String { "cannot save \(path): \(operation) failed: \(String(cString: strerror(code)))" }
}
