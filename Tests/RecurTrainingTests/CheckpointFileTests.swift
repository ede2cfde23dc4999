import Foundation
import Testing
@testable import RecurTraining
import RecurCore
import RecurTestSupport

private func sampleFile() -> CheckpointFile {
    var generator = SeededGenerator(seed: 5)
    return CheckpointFile(tensors: [("rnn.weight_ih_l0", .uniform([3, 2], in: -1...1, using: &generator)),
                                    ("decoder.bias", .uniform([4], in: -1...1, using: &generator))],
                          document: Data(#"{"step":7}"#.utf8))
}

@Suite("Checkpoint files")
struct CheckpointFileTests {
    @Test("CRC-32 of the standard check string is cbf43926, in one piece or in several")
    func crc() {
        let text = Array("123456789".utf8)
        #expect(text.withUnsafeBytes { CRC32.checksum($0) } == 0xCBF4_3926)
        var pieces = CRC32()
        text[0..<2].withUnsafeBytes { pieces.update($0) }
        text[2...].withUnsafeBytes { pieces.update($0) }
        #expect(pieces.value == 0xCBF4_3926)
        let long = (0..<1000).map { UInt8($0 % 251) }
        var byBytes = CRC32()
        for byte in long { [byte].withUnsafeBytes { byBytes.update($0) } }
        #expect(long.withUnsafeBytes { CRC32.checksum($0) } == byBytes.value)
    }

    @Test("a checkpoint round-trips through its bytes and through a file")
    func roundTrip() throws {
        let file = sampleFile()
        let decoded = try file.encoded().withUnsafeBytes { try CheckpointFile.decode($0) }
        #expect(decoded.tensors.map(\.name) == ["rnn.weight_ih_l0", "decoder.bias"])
        #expect(decoded["rnn.weight_ih_l0"] == file["rnn.weight_ih_l0"] && decoded.document == file.document)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("recur-checkpoint-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.recur")
        try file.save(to: url)
        try file.save(to: url)
        #expect(try CheckpointFile.load(from: url)["decoder.bias"] == file["decoder.bias"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.recur"], "no temporary file is left")
    }

    @Test("every single flipped bit is detected, and every truncation, without a crash")
    func damage() {
        let bytes = sampleFile().encoded()
        for bit in 0..<(bytes.count * 8) {
            var damaged = bytes
            damaged[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(throws: CheckpointError.Problem.self, "bit \(bit)") {
                try damaged.withUnsafeBytes { try CheckpointFile.decode($0) }
            }
        }
        for length in 0..<bytes.count {
            #expect(throws: CheckpointError.Problem.self, "length \(length)") {
                try Array(bytes[..<length]).withUnsafeBytes { try CheckpointFile.decode($0) }
            }
        }
    }

    @Test("errors name the file and the problem")
    func messages() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("recur-messages-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func problem(_ bytes: [UInt8]) -> String {
            let url = folder.appendingPathComponent("bad.recur")
            #expect(FileManager.default.createFile(atPath: url.path, contents: Data(bytes)))
            do {
                _ = try CheckpointFile.load(from: url)
                return "loaded"
            } catch {
                #expect(error.description.hasPrefix(url.path + ": "))
                return error.description
            }
        }
        #expect(problem([]).hasSuffix("not a Recur checkpoint: the file is empty"))
        #expect(problem(Array("hello, world".utf8)).hasSuffix("not a Recur checkpoint: a model file is a safetensors file written by recur train, and this file does not start like one"))
        var damagedLength = sampleFile().encoded()
        damagedLength[6] ^= 0x40
        #expect(problem(damagedLength).contains("damaged or truncated"), "a checkpoint with a damaged header length is damaged")
        let plain = Safetensors(tensors: [("w", Tensor.ones([2]))]).encoded()
        #expect(problem(plain).contains("has no Recur checksum"))
        var truncated = sampleFile().encoded()
        truncated.removeLast(3)
        #expect(problem(truncated).contains("checksum does not match"))
        // A file from a future Recur, checksum and all.
        var future = Safetensors(tensors: [("w", Tensor.ones([2]))],
                                 metadata: ["format": CheckpointFile.format, "format_version": "9", "recur": "{}",
                                            "checksum": "crc32:00000000"]).encoded()
        let marker = Array("crc32:".utf8)
        let at = (0..<future.count).first { Array(future[$0..<($0 + marker.count)]) == marker }! + marker.count
        let crc = future.withUnsafeBytes { CRC32.checksum($0) }
        for (i, c) in String(format: "%08x", crc).utf8.enumerated() { future[at + i] = c }
        #expect(problem(future).contains("format version 9 is not one this Recur reads (it reads 1); use a newer Recur"))
        #expect(throws: CheckpointError(path: folder.path, problem: .unreadable("it is a folder, not a model file"))) {
            try CheckpointFile.load(from: folder)
        }
        let missing = folder.appendingPathComponent("absent.recur")
        #expect(throws: CheckpointError(path: missing.path, problem: .unreadable("there is no such file"))) {
            try CheckpointFile.load(from: missing)
        }
    }
}

@Suite("Safetensors")
struct SafetensorsTests {
    @Test("the layout is the format's: length, sorted JSON header padded to 8, little-endian F32 data")
    func layout() throws {
        let file = Safetensors(tensors: [("b", Tensor(shape: [1], scalars: [1.5])), ("a", Tensor(shape: [1, 2], scalars: [-2, 0.25]))],
                               metadata: ["k": "v"])
        let bytes = file.encoded()
        let length = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((8 + length) % 8 == 0)
        let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self).trimmingCharacters(in: .whitespaces)
        #expect(header == #"{"__metadata__":{"k":"v"},"a":{"data_offsets":[4,12],"dtype":"F32","shape":[1,2]},"b":{"data_offsets":[0,4],"dtype":"F32","shape":[1]}}"#)
        #expect(Array(bytes[(8 + length)...]) == [0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x80, 0x3E])
        let decoded = try bytes.withUnsafeBytes { try Safetensors.decode($0) }
        #expect(decoded.tensors.map(\.name) == ["b", "a"] && decoded["a"]?.scalars == [-2, 0.25] && decoded.metadata == ["k": "v"])
    }

    /// Builds a file from a header string and data bytes.
    private func file(_ header: String, _ data: [UInt8]) -> [UInt8] {
        let json = Array(header.utf8)
        return withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json + data
    }

    @Test("F64, F16 and BF16 are converted to Float")
    func conversions() throws {
        let data: [UInt8] = withUnsafeBytes(of: (-0.5).bitPattern.littleEndian, Array.init)   // F64 −0.5
            + [0x00, 0x3C, 0x01, 0x00]                                                           // F16 1, 2⁻²⁴
            + [0x80, 0x3F]                                                                       // BF16 1
        let header = #"{"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"h":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},"b":{"dtype":"BF16","shape":[],"data_offsets":[12,14]}}"#
        let decoded = try file(header, data).withUnsafeBytes { try Safetensors.decode($0) }
        #expect(decoded["d"]?.scalars == [-0.5] && decoded["h"]?.scalars == [1, 0x1p-24] && decoded["b"]?.scalars == [1])
        #expect(Safetensors.halfToFloat(0x7C00) == .infinity && Safetensors.halfToFloat(0xC000) == -2)
    }

    @Test("bad headers and offsets are errors", arguments: [
        (#"[1, 2]"#, "not a JSON object"),
        (#"{"w":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}}"#, "dtype I8"),
        (#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, "4 bytes for shape [2]"),
        (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"v":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, "overlaps"),
        (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, "gap before tensor w"),
        (#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#, "outside the 8 data bytes"),
        (#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}}"#, "bad shape"),
        (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, "4 bytes after the last tensor"),
        (#"{"__metadata__":{"a":1}}"#, "__metadata__ must map names to strings"),
    ])
    func malformed(_ header: String, _ expected: String) {
        do {
            _ = try file(header, [UInt8](repeating: 0, count: 8)).withUnsafeBytes { try Safetensors.decode($0) }
            Issue.record("accepted \(header)")
        } catch {
            #expect("\(error)".contains(expected), "\(error)")
        }
    }

    @Test("a header length over 100 MB or past the end is refused")
    func lengths() {
        var huge = withUnsafeBytes(of: UInt64(200 << 20).littleEndian, Array.init)
        huge += Array("{}".utf8)
        #expect(throws: SafetensorsError.malformed("the header length 209715200 is over the 104857600-byte limit")) {
            try huge.withUnsafeBytes { try Safetensors.decode($0) }
        }
        let short = withUnsafeBytes(of: UInt64(50).littleEndian, Array.init) + Array("{}".utf8)
        #expect(throws: SafetensorsError.truncated("the header needs 50 bytes but only 2 follow its length")) {
            try short.withUnsafeBytes { try Safetensors.decode($0) }
        }
    }

    @Test("random damage to a valid file never crashes the reader")
    func fuzz() {
        var generator = SeededGenerator(seed: 77)
        let valid = Safetensors(tensors: [("a", Tensor.ones([3, 2])), ("b", Tensor.zeros([5]))], metadata: ["x": "y"]).encoded()
        var accepted = 0
        for _ in 0..<3000 {
            var bytes = valid
            for _ in 0..<Int(generator.next() % 4 + 1) {
                let position = Int(generator.next() % UInt64(bytes.count))
                switch generator.next() % 3 {
                case 0: bytes[position] = UInt8(truncatingIfNeeded: generator.next())
                case 1: bytes.remove(at: position)
                default: bytes.insert(UInt8(truncatingIfNeeded: generator.next()), at: position)
                }
            }
            if (try? bytes.withUnsafeBytes { try Safetensors.decode($0) }) != nil { accepted += 1 }
        }
        #expect(accepted < 3000, "some damage must be caught")
    }
}
