import RecurText

/// A table of text fields read from a file: tab-separated lines (`text<TAB>label`, as the UCI sentiment files are)
/// or comma-separated values as RFC 4180 writes them (quoted fields, `""` for a quote inside one, line breaks inside
/// quotes), as the emojify and UCI splice-junction files are.
///
/// The file is read as checked UTF-8 (`TextFile`: an empty, binary or non-UTF-8 file is refused, naming the byte
/// offset and line). Empty lines are skipped. Unquoted fields lose the spaces and tabs around them (`EI,    ATRINS…`
/// and a label written `1 ` read as `EI`, `ATRINS…` and `1`); quoted fields are kept exactly. Every row remembers
/// the line it starts on, so that a later check (a missing column, an unknown label) can name it.
public struct DelimitedTable: Sendable, Equatable {
    /// How fields are separated.
    public enum Format: String, CaseIterable, Sendable {
        /// Fields separated by tabs, one record per line, no quoting.
        case tsv
        /// Fields separated by commas, RFC 4180 quoting.
        case csv
    }

    /// One record: its fields, and the line of the file it starts on (1 for the first).
    public struct Row: Sendable, Equatable {
        /// The line the record starts on.
        public var line: Int
        /// Its fields, in order.
        public var fields: [String]

        /// A record starting on `line`.
        public init(line: Int, fields: [String]) {
            self.line = line
            self.fields = fields
        }
    }

    /// The file the table was read from (named in errors).
    public let path: String
    /// The records, in file order.
    public let rows: [Row]

    /// Reads the table at `path`.
    /// - Throws: `TableError` naming the file, and the line for a malformed record.
    public static func read(_ path: String, format: Format, replacingInvalid: Bool = false) throws(TableError) -> DelimitedTable {
        let text: String
        do {
            text = try TextFile.read(path, replacingInvalid: replacingInvalid)
        } catch {
            throw TableError(path: error.path, line: nil, problem: error.problem)
        }
        return try parse(text, path: path, format: format)
    }

    /// The table in `text`, as read from `path` (named in errors).
    public static func parse(_ text: String, path: String, format: Format) throws(TableError) -> DelimitedTable {
        switch format {
        case .tsv:
            var rows: [Row] = []
            for (index, line) in Vocabulary.lines(text).enumerated() where !line.allSatisfy(\.isWhitespace) {
                rows.append(Row(line: index + 1, fields: line.split(separator: "\t", omittingEmptySubsequences: false)
                    .map { trimmed($0) }))
            }
            return DelimitedTable(path: path, rows: rows)
        case .csv:
            return DelimitedTable(path: path, rows: try commaSeparated(text, path: path))
        }
    }

    private init(path: String, rows: [Row]) {
        self.path = path
        self.rows = rows
    }

    /// The most fields any row has.
    public var columnCount: Int { rows.map(\.fields.count).max() ?? 0 }

    /// Field `column` (counted from 0) of every row.
    /// - Throws: `TableError` naming the first row that has no such column.
    public func column(_ column: Int, named name: String) throws(TableError) -> [String] {
        var values: [String] = []
        values.reserveCapacity(rows.count)
        for row in rows {
            guard column < row.fields.count else {
                throw TableError(path: path, line: row.line,
                                 problem: "it has \(row.fields.count) field\(row.fields.count == 1 ? "" : "s"), so no \(name) column (column \(column + 1))")
            }
            values.append(row.fields[column])
        }
        return values
    }

    private static func trimmed(_ field: Substring) -> String {
        String(field.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    /// RFC 4180 records: a field is quoted when its first character is `"`; inside, `""` is a quote and a line
    /// break belongs to the field; a record ends at a line break outside quotes.
    private static func commaSeparated(_ text: String, path: String) throws(TableError) -> [Row] {
        var rows: [Row] = [], fields: [String] = [], field = ""
        var line = 1, recordLine = 1
        var quoted = false, inQuotes = false, afterQuote = false
        func endField() {
            fields.append(quoted ? field : trimmed(Substring(field)))
            field = ""
            quoted = false
            afterQuote = false
        }
        func endRecord() {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) { rows.append(Row(line: recordLine, fields: fields)) }
            fields = []
        }
        var characters = text.makeIterator()
        var pending: Character? = nil
        while let character = pending ?? characters.next() {
            pending = nil
            let isLineBreak = character == "\n" || character == "\r\n" || character == "\r"
            if inQuotes {
                if character == "\"" {
                    let next = characters.next()
                    if next == "\"" {
                        field.append("\"")
                    } else {
                        inQuotes = false
                        afterQuote = true
                        pending = next
                    }
                } else {
                    if isLineBreak { line += 1 }
                    field.append(character)
                }
                continue
            }
            if character == "," {
                endField()
            } else if isLineBreak {
                endRecord()
                line += 1
                recordLine = line
            } else if afterQuote {
                if character != " " && character != "\t" {
                    throw TableError(path: path, line: line,
                                     problem: "\(String(reflecting: String(character))) follows a closing quote; a quoted field ends at a comma or the line's end (write \"\" for a quote inside it)")
                }
            } else if character == "\"" && field.allSatisfy({ $0 == " " || $0 == "\t" }) {
                field = ""
                quoted = true
                inQuotes = true
            } else {
                field.append(character)
            }
        }
        if inQuotes {
            throw TableError(path: path, line: recordLine, problem: "a quoted field opened here is never closed")
        }
        endRecord()
        return rows
    }
}

/// A table that could not be read: the file, the line where it applies, and what is wrong.
public struct TableError: Error, CustomStringConvertible, Equatable {
    /// The file.
    public var path: String
    /// The line (1 for the first), when the problem is in one record.
    public var line: Int?
    /// What is wrong.
    public var problem: String

    /// An error about `path`, at `line` if given.
    public init(path: String, line: Int?, problem: String) {
        self.path = path
        self.line = line
        self.problem = problem
    }

    public var description: String { line.map { "\(path): line \($0): \(problem)" } ?? "\(path): \(problem)" }
}
