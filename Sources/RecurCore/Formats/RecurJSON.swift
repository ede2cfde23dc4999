import Foundation

/// How Recur writes and reads JSON, everywhere: checkpoint documents, training logs, PyTorch configs and every
/// command's `--json` output.
///
/// - Keys are snake case (`hidden_size`, `tokens_per_second`), converted from the Swift names, and sorted, so the
///   same value always gives the same bytes.
/// - Numbers that are not finite (a loss that became NaN) are written as the strings `"inf"`, `"-inf"` and `"nan"`,
///   and read back from them.
/// - Slashes are not escaped (paths stay readable).
public enum RecurJSON {
    /// An encoder with Recur's settings; `pretty` breaks objects over indented lines (files meant for people).
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
                                          : [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf",
                                                                      nan: "nan")
        return encoder
    }

    /// A decoder that reads what ``encoder(pretty:)`` writes.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf",
                                                                        nan: "nan")
        return decoder
    }

    /// `value` as one JSON object on one line, without the line break (a JSON-lines record).
    public static func line<T: Encodable>(_ value: T) -> String {
        // Encoding a value made of strings, numbers, arrays and objects cannot fail with these settings.
        String(decoding: try! encoder().encode(value), as: UTF8.self)
    }
}
