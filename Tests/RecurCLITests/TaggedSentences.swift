import Foundation

/// Tagged sentences of our own in CoNLL's four columns, IOB1 as CoNLL-2003: a name from a list is a PER entity
/// (one or two tokens), a city a LOC; everything else is O.
func writeCoNLL(_ url: URL, sentences: Int, seed: UInt64 = 1, scheme: String = "iob1") throws {
    let people = [["Harry", "Potter"], ["Hermione", "Granger"], ["Ron"], ["Albus", "Dumbledore"], ["Luna"]]
    let cities = ["London", "Paris", "Hogsmeade", "Berlin"]
    let filler = ["met", "and", "visited", "in", "the", "castle", "today", "a", "new", "spell"]
    var state = seed
    func next(_ n: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int(state >> 33) % n
    }
    var lines = ["-DOCSTART- -X- O O", ""]
    for _ in 0..<sentences {
        var tokens: [(String, String)] = []
        for _ in 0..<(2 + next(4)) {
            switch next(4) {
            case 0:
                let name = people[next(people.count)]
                for (index, token) in name.enumerated() {
                    tokens.append((token, (scheme == "bio2" && index == 0 ? "B-" : "I-") + "PER"))
                }
            case 1: tokens.append((cities[next(cities.count)], (scheme == "bio2" ? "B-" : "I-") + "LOC"))
            default: tokens.append((filler[next(filler.count)], "O"))
            }
        }
        lines += tokens.map { "\($0.0) NN I-NP \($0.1)" } + [""]
    }
    try Data(lines.joined(separator: "\n").utf8).write(to: url)
}
