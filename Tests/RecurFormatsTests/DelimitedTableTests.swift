import Foundation
import Testing
import RecurFormats
import RecurTestSupport

@Suite("Delimited tables")
struct DelimitedTableTests {
    @Test("tab-separated: one record per line, fields trimmed, empty lines skipped, line numbers kept")
    func tabSeparated() throws {
        let table = try DelimitedTable.parse("Wow... Loved this place.\t1 \n\nCrust is not \"good\".\t0\r\nno label here\n",
                                             path: "yelp.txt", format: .tsv)
        #expect(table.rows == [
            .init(line: 1, fields: ["Wow... Loved this place.", "1"]),
            .init(line: 3, fields: ["Crust is not \"good\".", "0"]),
            .init(line: 4, fields: ["no label here"]),
        ])
        #expect(try table.column(0, named: "text").count == 3)
        #expect(throws: TableError(path: "yelp.txt", line: 4, problem: "it has 1 field, so no label column (column 2)")) {
            try table.column(1, named: "label")
        }
    }

    @Test("comma-separated, RFC 4180: quotes, doubled quotes, commas and line breaks inside quotes, CRLF")
    func commaSeparated() throws {
        let text = "\"I want to eat\t\",4\r\nsay \"\"hi\"\" twice,1\n\"a, b\",\"she said \"\"no\"\"\"\n\"two\nlines\",2\nEI,    ATRINS-DONOR-521,   CCAG\n,\n"
        let table = try DelimitedTable.parse(text, path: "emoji.csv", format: .csv)
        #expect(table.rows == [
            .init(line: 1, fields: ["I want to eat\t", "4"]),
            .init(line: 2, fields: ["say \"\"hi\"\" twice", "1"]),
            .init(line: 3, fields: ["a, b", "she said \"no\""]),
            .init(line: 4, fields: ["two\nlines", "2"]),
            .init(line: 6, fields: ["EI", "ATRINS-DONOR-521", "CCAG"]),
            .init(line: 7, fields: ["", ""]),
        ])
        #expect(table.columnCount == 3)
    }

    @Test("malformed records and files are named with their line; nothing crashes")
    func errors() throws {
        #expect(throws: TableError(path: "a.csv", line: 2, problem: "a quoted field opened here is never closed")) {
            try DelimitedTable.parse("x,1\n\"open,2\nmore\n", path: "a.csv", format: .csv)
        }
        #expect(throws: TableError(path: "b.csv", line: 1,
                                   problem: "\"x\" follows a closing quote; a quoted field ends at a comma or the line's end (write \"\" for a quote inside it)")) {
            try DelimitedTable.parse("\"quoted\"x,1\n", path: "b.csv", format: .csv)
        }
        let folder = try temporaryFolder("tables")
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, bytes) in [("empty.tsv", [UInt8]()), ("binary.tsv", [0x41, 0x00, 0x42]), ("latin1.tsv", [0x63, 0x61, 0x66, 0xE9, 0x09, 0x31])] {
            let url = folder.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            do {
                _ = try DelimitedTable.read(url.path, format: .tsv)
                Issue.record("\(name) was read")
            } catch {
                #expect(error.description.hasPrefix(url.path + ": "), "\(error)")
            }
        }
        let latin1 = try DelimitedTable.read(folder.appendingPathComponent("latin1.tsv").path, format: .tsv, replacingInvalid: true)
        #expect(latin1.rows == [.init(line: 1, fields: ["caf\u{FFFD}", "1"])])
    }

    @Test("the course's data files read as Python's csv module reads them",
          .enabled(if: SharedData.has("sentiment-labelled-sentences/yelp_labelled.txt") && SharedData.has("uci-splice-junction/splice.data")
                   && SharedData.has("emojify/train_emoji.csv") && SharedData.has("uci-promoters/promoters.data"),
                   "needs ../shared/data beside the repository"))
    func sharedData() throws {
        // Row counts and field counts as Python's csv module gives them (Scripts/ has no fixture: these are the files' own).
        for (path, format, rows, fields) in [("sentiment-labelled-sentences/amazon_cells_labelled.txt", DelimitedTable.Format.tsv, 1000, 2),
                                              ("sentiment-labelled-sentences/imdb_labelled.txt", .tsv, 1000, 2),
                                              ("sentiment-labelled-sentences/yelp_labelled.txt", .tsv, 1000, 2),
                                              ("uci-splice-junction/splice.data", .csv, 3190, 3),
                                              ("emojify/train_emoji.csv", .csv, 132, 4),
                                              ("emojify/tesss.csv", .csv, 56, 2),
                                              ("uci-promoters/promoters.data", .csv, 106, 3)] {
            let table = try DelimitedTable.read(SharedData.url(path).path, format: format)
            #expect(table.rows.count == rows && table.rows.allSatisfy { $0.fields.count == fields }, "\(path)")
        }
        let splice = try DelimitedTable.read(SharedData.url("uci-splice-junction/splice.data").path, format: .csv)
        #expect(splice.rows[0].fields == ["EI", "ATRINS-DONOR-521", "CCAGCTGCATCACAGGAGGCCAGCGAGCAGGTCTGTTCCAAGGGCCTTCGAGCCAGTCTG"])
        #expect(Set(try splice.column(0, named: "class")) == ["EI", "IE", "N"])
        let yelp = try DelimitedTable.read(SharedData.url("sentiment-labelled-sentences/yelp_labelled.txt").path, format: .tsv)
        #expect(Set(try yelp.column(1, named: "label")) == ["0", "1"], "a label written '1 ' reads as 1")
    }
}
