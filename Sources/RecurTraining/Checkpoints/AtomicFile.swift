import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif

/// Writes files so that a crash or a kill at any moment leaves either the old file or the new one, whole.
///
/// The bytes go to a temporary file in the same folder (same file system, so the rename is atomic), which is
/// flushed to disk (`fsync`) before `rename` puts it in place; the folder is then flushed too, so the rename
/// itself survives a power cut.
public enum AtomicFile {
    /// Replaces (or creates) `url` with `bytes`.
    /// - Throws: `AtomicFileError` naming the file and the system's reason; the old file is then untouched.
    public static func write(_ bytes: UnsafeRawBufferPointer, to url: URL) throws(AtomicFileError) {
        let path = url.path
        let folder = url.deletingLastPathComponent().path
        let temporary = folder + "/." + url.lastPathComponent + ".partial-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw AtomicFileError(path: path, operation: "create \(temporary)", code: errno) }
        var written = 0
        while written < bytes.count {
            let result = systemWrite(descriptor, bytes.baseAddress! + written, bytes.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(descriptor)
                unlink(temporary)
                throw AtomicFileError(path: path, operation: "write \(temporary)", code: code)
            }
            written += result
        }
        if fsync(descriptor) != 0 {
            let code = errno
            close(descriptor)
            unlink(temporary)
            throw AtomicFileError(path: path, operation: "flush \(temporary)", code: code)
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
}

/// A file that could not be written, and why.
public struct AtomicFileError: Error, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var code: Int32

    public var description: String { "cannot save \(path): \(operation) failed: \(String(cString: strerror(code)))" }
}
