import Foundation

/// A long run of token ids, stored compactly: 2 bytes per id when the vocabulary has at most 65,536 tokens,
/// 4 otherwise, either in memory or in a memory-mapped token file (`TokenFileWriter`), so that a corpus larger
/// than memory can be trained on: the operating system pages the ids in as the lanes reach them and may drop
/// them again.
///
/// Slicing (`ids[range]`) shares the storage; nothing is copied.
public struct TokenIDs: RandomAccessCollection, Sendable {
    private let storage: Storage
    /// Where this slice starts in `storage`.
    private let offset: Int
    /// How many ids there are.
    public let count: Int

    /// Always 0, also for a slice.
    public var startIndex: Int { 0 }
    /// `count`.
    public var endIndex: Int { count }

    /// The id at `position`, counted from the slice's start.
    public subscript(position: Int) -> Int {
        precondition(position >= 0 && position < count, "token index \(position) out of range 0..<\(count)")
        let index = offset + position
        return storage.bytesPerID == 2 ? Int(UInt16(littleEndian: storage.base.assumingMemoryBound(to: UInt16.self)[index]))
                                       : Int(UInt32(littleEndian: storage.base.assumingMemoryBound(to: UInt32.self)[index]))
    }

    /// The ids at `range` (positions of this collection), sharing the storage.
    public subscript(range: Range<Int>) -> TokenIDs {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "token range \(range) out of 0..<\(count)")
        return TokenIDs(storage: storage, offset: offset + range.lowerBound, count: range.count)
    }

    /// Bytes per id: 2 or 4.
    public var bytesPerID: Int { storage.bytesPerID }
    /// Whether the ids live in a memory-mapped file rather than in memory.
    public var isMapped: Bool { storage.isMapped }

    private init(storage: Storage, offset: Int, count: Int) {
        self.storage = storage
        self.offset = offset
        self.count = count
    }

    /// In-memory ids (each in 0..<2³²), 2 bytes each if all are below 65,536.
    public init(_ ids: [Int]) {
        precondition(ids.allSatisfy { $0 >= 0 && $0 <= Int(UInt32.max) }, "token ids must be in 0..<2³²")
        let narrow = ids.allSatisfy { $0 <= Int(UInt16.max) }
        let storage = Storage(allocating: ids.count, bytesPerID: narrow ? 2 : 4)
        for (index, id) in ids.enumerated() {
            if narrow {
                storage.base.assumingMemoryBound(to: UInt16.self)[index] = UInt16(id).littleEndian
            } else {
                storage.base.assumingMemoryBound(to: UInt32.self)[index] = UInt32(id).littleEndian
            }
        }
        self.init(storage: storage, offset: 0, count: ids.count)
    }

    /// Maps a token file of `count` little-endian ids of `bytesPerID` bytes (as `TokenFileWriter` writes them).
    init(mapping descriptor: Int32, count: Int, bytesPerID: Int) throws {
        let storage = count == 0 ? Storage(allocating: 0, bytesPerID: bytesPerID)
                                 : try Storage(mapping: descriptor, count: count, bytesPerID: bytesPerID)
        self.init(storage: storage, offset: 0, count: count)
    }

    /// Owns the bytes: an allocation, or a mapping it unmaps when the last slice is gone.
    private final class Storage: @unchecked Sendable {
        let base: UnsafeMutableRawPointer
        let bytes: Int
        let bytesPerID: Int
        let isMapped: Bool

        init(allocating count: Int, bytesPerID: Int) {
            self.bytesPerID = bytesPerID
            bytes = Swift.max(1, count * bytesPerID)
            base = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 8)
            isMapped = false
        }

        init(mapping descriptor: Int32, count: Int, bytesPerID: Int) throws {
            self.bytesPerID = bytesPerID
            bytes = Swift.max(1, count * bytesPerID)
            guard let address = mmap(nil, bytes, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
                throw TokenFileError("the token file cannot be mapped into memory (errno \(errno))")
            }
            base = address
            isMapped = true
        }

        deinit {
            if isMapped { munmap(base, bytes) } else { base.deallocate() }
        }
    }
}

/// Writes token ids to a temporary file as they are encoded, then maps it: the ids of a corpus that is read a
/// piece at a time, never all in memory at once. The file is deleted as soon as it is mapped (the mapping stays
/// valid until the ids are released), so nothing is left behind, even if the process is killed later.
public final class TokenFileWriter {
    /// 2, or 4 for vocabularies of more than 65,536 tokens.
    public let bytesPerID: Int
    /// Ids written so far.
    public private(set) var count = 0
    private let path: String
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var finished = false

    /// - Parameters: vocabularySize decides the width (2 bytes up to 65,536 tokens, else 4); folder is where
    ///   the temporary file goes (default: the system's temporary folder).
    public init(vocabularySize: Int, folder: String = NSTemporaryDirectory()) throws {
        bytesPerID = vocabularySize <= 1 << 16 ? 2 : 4
        path = (folder as NSString).appendingPathComponent("recur-tokens-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString).ids")
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forUpdatingAtPath: path) else {
            throw TokenFileError("cannot create a token file in \(folder)")
        }
        self.handle = handle
    }

    deinit {
        if !finished {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// Appends ids (each below 2^(8·bytesPerID)).
    public func append(_ ids: [Int]) throws {
        buffer.reserveCapacity(buffer.count + ids.count * bytesPerID)
        for id in ids {
            precondition(id >= 0 && id >> (8 * bytesPerID) == 0, "token id \(id) does not fit \(bytesPerID) bytes")
            buffer.append(UInt8(truncatingIfNeeded: id))
            buffer.append(UInt8(truncatingIfNeeded: id >> 8))
            if bytesPerID == 4 {
                buffer.append(UInt8(truncatingIfNeeded: id >> 16))
                buffer.append(UInt8(truncatingIfNeeded: id >> 24))
            }
        }
        count += ids.count
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func flush() throws {
        do { try handle.write(contentsOf: buffer) } catch {
            throw TokenFileError("cannot write the token file \(path): \(error.localizedDescription)")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// The ids written, mapped from the file, which is then deleted.
    public func finish() throws -> TokenIDs {
        precondition(!finished, "a token file is finished once")
        try flush()
        finished = true
        defer {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: path)
        }
        return try TokenIDs(mapping: handle.fileDescriptor, count: count, bytesPerID: bytesPerID)
    }
}

/// A token file that could not be written or mapped.
public struct TokenFileError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
