/// One entity (a chunk) in a tagged sentence: its type and the tokens it spans, `start...end` (inclusive).
public struct Chunk: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The entity type: `PER`, `LOC`, …
    public var type: String
    /// The first token, counted from 0.
    public var start: Int
    /// The last token (inclusive).
    public var end: Int

    /// A chunk of `type` over tokens `start...end`.
    public init(type: String, start: Int, end: Int) {
        self.type = type
        self.start = start
        self.end = end
    }

    /// `PER 0…1`.
    public var description: String { "\(type) \(start)…\(end)" }
}

/// How a tag marks where an entity starts and ends. A tag is `O` (outside every entity) or a prefix, a hyphen and
/// the entity type (`B-PER`).
///
/// - `iob1` (CoNLL-2003's original): `I-X` inside an entity; `B-X` only on the first token of an entity that
///   directly follows another entity of the same type.
/// - `bio2` (WNUT-17, often called IOB2): `B-X` on the first token of every entity, `I-X` on the rest.
/// - `iobes`: `S-X` for a one-token entity, else `B-X` first, `E-X` last and `I-X` between.
///
/// Reading tags into chunks follows conlleval's rules for every scheme at once (`chunks(_:)`), so a tag sequence
/// that breaks its scheme (an `I-X` after `O` in BIO2, say) is read as conlleval reads it; writing chunks as tags
/// (`tags(_:count:)`) always follows the scheme.
public enum TagScheme: String, Codable, CaseIterable, Sendable {
    /// CoNLL-2003's original scheme.
    case iob1
    /// `B-` on every entity's first token.
    case bio2
    /// Single, begin, inside, end.
    case iobes

    /// A tag split into its prefix (`O`, `B`, `I`, `E` or `S`) and type ("" for `O`).
    public struct Tag: Equatable, Sendable {
        /// `O`, `B`, `I`, `E` or `S`.
        public var prefix: Character
        /// The entity type; "" for `O`.
        public var type: String

        /// Parses `O` or `P-TYPE` with P one of B, I, E, S; nil for anything else.
        public init?(_ text: String) {
            if text == "O" {
                prefix = "O"
                type = ""
                return
            }
            let characters = Array(text)
            guard characters.count >= 3, characters[1] == "-", "BIES".contains(characters[0]) else { return nil }
            prefix = characters[0]
            type = String(characters[2...])
        }
    }

    /// The chunks of a sentence's tags by conlleval's rules: a chunk ends before a `B` or `S` tag, after an `E` or
    /// `S` tag, before `O`, and where the type changes; it starts at `B` or `S`, at an `I` or `E` that follows `O`,
    /// an `E` or an `S`, and where the type changes. Tags that are not `O` or `P-TYPE` count as `O`.
    public static func chunks(_ tags: [String]) -> [Chunk] {
        var chunks: [Chunk] = []
        var previous = Tag("O")!, begin = 0
        for index in 0...tags.count {
            let tag = index < tags.count ? (Tag(tags[index]) ?? Tag("O")!) : Tag("O")!
            if endsChunk(previous: previous, next: tag) { chunks.append(Chunk(type: previous.type, start: begin, end: index - 1)) }
            if startsChunk(previous: previous, next: tag) { begin = index }
            previous = tag
        }
        return chunks
    }

    private static func endsChunk(previous: Tag, next: Tag) -> Bool {
        switch (previous.prefix, next.prefix) {
        case ("O", _): return false
        case ("E", _), ("S", _): return true
        case ("B", "B"), ("B", "S"), ("B", "O"), ("I", "B"), ("I", "S"), ("I", "O"): return true
        default: return previous.type != next.type
        }
    }

    private static func startsChunk(previous: Tag, next: Tag) -> Bool {
        switch (previous.prefix, next.prefix) {
        case (_, "O"): return false
        case (_, "B"), (_, "S"): return true
        case ("E", "E"), ("E", "I"), ("S", "E"), ("S", "I"), ("O", "E"), ("O", "I"): return true
        default: return previous.type != next.type
        }
    }

    /// The tags of a sentence of `count` tokens whose entities are `chunks` (in order, not overlapping), written
    /// in this scheme.
    public func tags(_ chunks: [Chunk], count: Int) -> [String] {
        var tags = [String](repeating: "O", count: count)
        var previous: Chunk?
        for chunk in chunks {
            for index in chunk.start...chunk.end { tags[index] = "I-" + chunk.type }
            switch self {
            case .iob1:
                if let previous, previous.end + 1 == chunk.start, previous.type == chunk.type { tags[chunk.start] = "B-" + chunk.type }
            case .bio2:
                tags[chunk.start] = "B-" + chunk.type
            case .iobes:
                if chunk.start == chunk.end {
                    tags[chunk.start] = "S-" + chunk.type
                } else {
                    tags[chunk.start] = "B-" + chunk.type
                    tags[chunk.end] = "E-" + chunk.type
                }
            }
            previous = chunk
        }
        return tags
    }

    /// `tags` read by conlleval's rules and written again in this scheme: the same chunks, every tag valid.
    /// - Returns: the tags, and how many of them changed (tags that broke the scheme, repaired).
    public func repaired(_ tags: [String]) -> (tags: [String], changed: Int) {
        let written = self.tags(TagScheme.chunks(tags), count: tags.count)
        return (written, zip(tags, written).filter { $0 != $1 }.count)
    }

    /// The scheme the tags of a data set are written in: IOBES when any tag starts `E-` or `S-`; else IOB1 when more
    /// entities start with `I-` (after `O`, at a sentence's start or after another type) than with `B-` there (IOB1
    /// never does, but real data has a slip or two: CoNLL-2003's training file has two); else BIO2.
    public static func detect(_ sentences: [[String]]) -> TagScheme {
        if sentences.contains(where: { $0.contains { $0.hasPrefix("E-") || $0.hasPrefix("S-") } }) { return .iobes }
        var startsWithI = 0, startsWithB = 0
        for tags in sentences {
            var previous = Tag("O")!
            for text in tags {
                guard let tag = Tag(text) else { continue }
                if previous.prefix == "O" || previous.type != tag.type {
                    if tag.prefix == "B" { startsWithB += 1 }
                    if tag.prefix == "I" { startsWithI += 1 }
                }
                previous = tag
            }
        }
        return startsWithI > startsWithB ? .iob1 : .bio2
    }

    /// Whether tag `next` may follow tag `previous` in a valid sentence of this scheme (nil `previous`: the
    /// sentence's start; nil `next`: its end). A CRF's transition constraints.
    public func allows(_ previous: String?, _ next: String?) -> Bool {
        let before = previous.flatMap(Tag.init), after = next.flatMap(Tag.init)
        let sameType = before != nil && after != nil && before!.type == after!.type
        switch self {
        case .iob1:
            guard let after, after.prefix == "B" else { return true }
            return sameType                                   // B-X only right after another X
        case .bio2:
            guard let after else { return true }
            guard after.prefix == "I" else { return after.prefix == "O" || after.prefix == "B" }
            return sameType && (before!.prefix == "B" || before!.prefix == "I")
        case .iobes:
            let open = before.map { $0.prefix == "B" || $0.prefix == "I" } ?? false
            guard let after else { return !open }
            if open { return sameType && (after.prefix == "I" || after.prefix == "E") }
            return after.prefix == "O" || after.prefix == "B" || after.prefix == "S"
        }
    }
}
