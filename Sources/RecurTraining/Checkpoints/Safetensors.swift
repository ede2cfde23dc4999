import Foundation
import RecurCore

/// Tensors in the safetensors format (huggingface/safetensors), read and written by Recur's own code:
///
///     [8 bytes]  N, the header's length, unsigned little-endian
///     [N bytes]  a JSON object: for each tensor {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
///                plus an optional "__metadata__" object of string values
///     [rest]     the tensors' bytes, little-endian, offsets counted from the end of the header
///
/// Recur writes F32; it reads F32, F64, F16 and BF16 (converted to Float). The reader trusts nothing: a header
/// over 100 MB, JSON that is not an object, an unknown dtype, a shape whose size disagrees with its offsets,
/// offsets out of range, overlapping or leaving gaps are all `SafetensorsError`s, never a crash.
public struct Safetensors {
    /// The tensors, in file order.
    public var tensors: [(name: String, value: Tensor)]
    /// The `__metadata__` strings.
    public var metadata: [String: String]

    /// A file of these tensors, in this order, with these `__metadata__` strings.
    public init(tensors: [(name: String, value: Tensor)], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The largest header accepted.
    public static let maximumHeaderBytes = 100 << 20

    /// Looks a tensor up by name.
    public subscript(name: String) -> Tensor? { tensors.first { $0.name == name }?.value }

    // MARK: - Writing

    /// The file's bytes. The header's keys are sorted, so the same tensors give the same bytes.
    /// Tensor names must be unique and not `__metadata__`.
    public func encoded() -> [UInt8] {
        var file = encodedHeader()
        for (_, tensor) in tensors { Safetensors.withLittleEndianBytes(tensor) { file.append(contentsOf: $0) } }
        return file
    }

    /// The first part of the file: the 8-byte length and the JSON header (padded with spaces to a multiple of 8,
    /// so the data starts aligned, as the reference writer does). The tensors' bytes follow, in order.
    public func encodedHeader() -> [UInt8] {
        let names = tensors.map(\.name)
        require(Set(names).count == names.count && !names.contains("__metadata__"),
                "safetensors: tensor names must be unique and not __metadata__, got \(names)")
        var header: [String: Any] = [:]
        var offset = 0
        for (name, tensor) in tensors {
            let bytes = tensor.count * 4
            header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes])
        while json.count % 8 != 0 { json.append(0x20) }
        return withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json
    }

    /// Calls `body` with a tensor's values as little-endian F32 bytes.
    public static func withLittleEndianBytes<R>(_ tensor: Tensor, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try tensor.withUnsafeBufferPointer { values in
            #if _endian(little)
            return try body(UnsafeRawBufferPointer(values))
            #else
            let swapped = values.map { $0.bitPattern.littleEndian }
            return try swapped.withUnsafeBytes(body)
            #endif
        }
    }

    // MARK: - Reading

    /// Where the header ends and the data begins, and the raw header; for checking and for `decode`.
    public static func headerRange(_ bytes: UnsafeRawBufferPointer) throws(SafetensorsError) -> Range<Int> {
        guard bytes.count >= 8 else { throw .truncated("the file has \(bytes.count) bytes, fewer than the 8 of its header length") }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard length <= UInt64(maximumHeaderBytes) else {
            throw .malformed("the header length \(length) is over the \(maximumHeaderBytes)-byte limit")
        }
        guard 8 + Int(length) <= bytes.count else {
            throw .truncated("the header needs \(length) bytes but only \(bytes.count - 8) follow its length")
        }
        return 8..<(8 + Int(length))
    }

    /// Reads a whole file's bytes.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(SafetensorsError) -> Safetensors {
        let headerRange = try headerRange(bytes)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes[headerRange]))
        } catch {
            throw .malformed("the header is not valid JSON")
        }
        guard let header = object as? [String: Any] else { throw .malformed("the header is not a JSON object") }
        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let strings = raw as? [String: String] else { throw .malformed("__metadata__ must map names to strings") }
            metadata = strings
        }
        let dataStart = headerRange.upperBound, dataCount = bytes.count - dataStart
        var entries: [(name: String, dtype: String, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shapeValues = entry["shape"] as? [Any], let offsetValues = entry["data_offsets"] as? [Any],
                  offsetValues.count == 2 else {
                throw .malformed("tensor \(name) needs dtype, shape and two data_offsets")
            }
            let shape = try shapeValues.map { value throws(SafetensorsError) -> Int in
                guard let number = value as? NSNumber, let dimension = Int(exactly: number.doubleValue),
                      dimension >= 0, dimension < 1 << 40 else { throw .malformed("tensor \(name) has a bad shape") }
                return dimension
            }
            let offsets = try offsetValues.map { value throws(SafetensorsError) -> Int in
                guard let number = value as? NSNumber, let offset = Int(exactly: number.doubleValue), offset >= 0 else {
                    throw .malformed("tensor \(name) has a bad data offset")
                }
                return offset
            }
            guard let width = elementBytes[dtype] else {
                throw .unsupported("tensor \(name) has dtype \(dtype); Recur reads F32, F64, F16 and BF16")
            }
            var elements = 1
            for dimension in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
                guard !overflow, product < 1 << 40 else { throw .malformed("tensor \(name) has a shape too large: \(shape)") }
                elements = product
            }
            guard offsets[0] <= offsets[1], offsets[1] <= dataCount else {
                throw .malformed("tensor \(name)'s data_offsets \(offsets) lie outside the \(dataCount) data bytes")
            }
            guard offsets[1] - offsets[0] == elements * width else {
                throw .malformed("tensor \(name) has \(offsets[1] - offsets[0]) bytes for shape \(shape) of \(dtype)")
            }
            entries.append((name, dtype, shape, offsets[0], offsets[1]))
        }
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expected = 0
        for entry in entries {
            guard entry.begin == expected else {
                throw .malformed(entry.begin < expected ? "tensor \(entry.name) overlaps the tensor before it"
                                                        : "there is a gap before tensor \(entry.name)")
            }
            expected = entry.end
        }
        guard expected == dataCount else { throw .malformed("\(dataCount - expected) bytes after the last tensor belong to none") }
        let tensors = entries.map { entry in
            var tensor = Tensor(shape: entry.shape)
            tensor.withUnsafeMutableBufferPointer { values in
                #if _endian(little)
                if entry.dtype == "F32" {
                    // Already Float's bytes: one copy.
                    UnsafeMutableRawBufferPointer(values).copyMemory(
                        from: UnsafeRawBufferPointer(rebasing: bytes[(dataStart + entry.begin)..<(dataStart + entry.end)]))
                    return
                }
                #endif
                for i in values.indices { values[i] = readElement(bytes, at: dataStart + entry.begin, index: i, dtype: entry.dtype) }
            }
            return (name: entry.name, value: tensor)
        }
        return Safetensors(tensors: tensors, metadata: metadata)
    }

    private static let elementBytes = ["F32": 4, "F64": 8, "F16": 2, "BF16": 2]

    private static func readElement(_ bytes: UnsafeRawBufferPointer, at start: Int, index: Int, dtype: String) -> Float {
        func word(_ width: Int) -> UInt64 {
            var value: UInt64 = 0
            let base = start + index * width
            for i in 0..<width { value |= UInt64(bytes[base + i]) << (8 * UInt64(i)) }
            return value
        }
        switch dtype {
        case "F32": return Float(bitPattern: UInt32(word(4)))
        case "F64": return Float(Double(bitPattern: word(8)))
        case "BF16": return Float(bitPattern: UInt32(word(2)) << 16)
        default: return halfToFloat(UInt16(word(2)))
        }
    }

    /// IEEE binary16 to Float, subnormals, infinities and NaN included.
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let exponent = Int((h >> 10) & 0x1F), fraction = Float(h & 0x3FF)
        switch exponent {
        case 0: return sign * fraction * 0x1p-24
        case 31: return fraction == 0 ? sign * .infinity : .nan
        default: return sign * (1 + fraction / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }
}

/// Why bytes are not a safetensors file Recur can read.
public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
    /// The file ends before its header or its tensors do.
    case truncated(String)
    /// The header is not valid, or its offsets overlap, leave gaps or run past the end.
    case malformed(String)
    /// A tensor has a data type Recur does not read.
    case unsupported(String)

    public var description: String {
        switch self {
        case .truncated(let why): "truncated: \(why)"
        case .malformed(let why): "not a valid safetensors file: \(why)"
        case .unsupported(let why): "unsupported: \(why)"
        }
    }
}
