/// A protocol-buffer message being written: just the wire format ONNX files need (varints, 32-bit floats and
/// length-delimited fields), so Recur writes `.onnx` files without a protobuf library or generated code.
///
/// Wire format: each field is a key `(field number << 3) | wire type` as a varint, then its value — wire type 0
/// a varint, 5 four little-endian bytes, 2 a varint length and that many bytes (strings, bytes, nested
/// messages). Repeated fields are written one element at a time, which every parser reads.
struct ProtobufMessage {
    private(set) var bytes: [UInt8] = []

    private mutating func appendVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    private mutating func key(_ field: Int, wireType: UInt64) { appendVarint(UInt64(field) << 3 | wireType) }

    /// An int32, int64 or enum field (negative values as ten-byte two's complement, as protobuf writes them).
    mutating func int(_ field: Int, _ value: Int) {
        key(field, wireType: 0)
        appendVarint(UInt64(bitPattern: Int64(value)))
    }

    /// A float field.
    mutating func float(_ field: Int, _ value: Float) {
        key(field, wireType: 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// A bytes field.
    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        key(field, wireType: 2)
        appendVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A string field (UTF-8).
    mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }

    /// A nested message.
    mutating func message(_ field: Int, _ value: ProtobufMessage) { bytes(field, value.bytes) }
}
