/// CRC-32 (the IEEE polynomial of zip, PNG and zlib: reflected 0xEDB88320), eight bytes per step
/// ("slicing by eight"). It detects every error of up to three flipped bits, and every burst of up to 32.
public struct CRC32: Sendable {
    /// The checksum of everything given so far.
    public private(set) var value: UInt32 = 0

    /// A checksum of nothing yet.
    public init() {}

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }

    /// Continues the checksum over `bytes`.
    /// Adds the bytes of a string's UTF-8 form.
    public mutating func update(_ utf8: String.UTF8View) {
        var text = String(utf8)
        text.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// Adds `bytes` to the checksum, as if they followed everything added before.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        let count = bytes.count
        var crc = ~value
        CRC32.tables.withUnsafeBufferPointer { tables in
            let t = tables.baseAddress!
            var index = 0
            while count - index >= 8 {
                // Eight bytes at once: the low four fold into the running CRC, each byte looks up its own table.
                let word = UInt64(littleEndian: (base + index).loadUnaligned(as: UInt64.self))
                let low = crc ^ UInt32(truncatingIfNeeded: word), high = UInt32(truncatingIfNeeded: word >> 32)
                crc = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                index += 8
            }
            while index < count {
                crc = t[Int((crc ^ UInt32(base.load(fromByteOffset: index, as: UInt8.self))) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
        }
        value = ~crc
    }

    /// Table k gives the CRC of a byte followed by k zero bytes.
    private static let tables: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            table[byte] = crc
        }
        for k in 1..<8 {
            for byte in 0..<256 {
                let previous = table[(k - 1) * 256 + byte]
                table[k * 256 + byte] = table[Int(previous & 0xFF)] ^ (previous >> 8)
            }
        }
        return table
    }()
}
