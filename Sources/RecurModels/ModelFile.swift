import Foundation
import RecurCore
import RecurTraining

/// The kinds of model a checkpoint can hold, and the command that uses each.
public enum ModelKind {
    /// The kind written in a checkpoint's document, read without decoding the rest (to say which command a file
    /// is for); nil when the document has none.
    public static func of(_ file: CheckpointFile) -> String? {
        struct Kind: Decodable { var kind: String }
        return try? RecurJSON.decoder().decode(Kind.self, from: file.document).kind
    }

    /// The `recur` command that reads models of `kind`, for messages ("this is a classifier; use recur classify").
    public static func command(for kind: String) -> String? {
        switch kind {
        case LanguageModel.kind: "recur sample, score or eval"
        case SequenceClassifier.kind: "recur classify or eval"
        case SequenceTagger.kind: "recur tag or eval"
        default: nil
        }
    }

    /// The message for a file of `found` kind opened as a `wanted`: names both, and the command for the file.
    static func mismatch(found: String, wanted: String) -> String {
        "this is a \(found), not a \(wanted)" + (command(for: found).map { "; use \($0)" } ?? "")
    }
}

/// Opens a checkpoint of `kind`: the file (checked whole), its document decoded as `Document`, the tensors checked
/// against `layout`, and only then the model `make` builds, given the file's weights.
func openModelCheckpoint<Model: SequenceModel, Vocabulary>(
    _ url: URL, kind: String, layout: (Model.Configuration) -> [(name: String, shape: [Int])],
    make: (Model.Configuration, inout SeededGenerator) -> Model,
    problems: (CheckpointDocument<Model.Configuration, Vocabulary>) -> String?
) throws(CheckpointError) -> (model: Model, document: CheckpointDocument<Model.Configuration, Vocabulary>) {
    func problem(_ why: String) -> CheckpointError { CheckpointError(path: url.path, problem: .mismatch(why)) }
    let file = try CheckpointFile.load(from: url)
    if let found = ModelKind.of(file), found != kind { throw problem(ModelKind.mismatch(found: found, wanted: kind)) }
    let document: CheckpointDocument<Model.Configuration, Vocabulary>
    do {
        document = try CheckpointDocument.decode(file.document)
    } catch {
        throw problem("its \"recur\" document does not describe a \(kind) (\(error))")
    }
    guard document.kind == kind else { throw problem(ModelKind.mismatch(found: document.kind, wanted: kind)) }
    if let why = problems(document) { throw problem(why) }
    for (name, shape) in layout(document.model) {
        guard let tensor = file[name] else { throw problem("it has no tensor \(name)") }
        guard tensor.shape == shape else { throw problem("tensor \(name) is \(tensor.shape), the model needs \(shape)") }
    }
    var unused = SeededGenerator(seed: 0)
    let model = make(document.model, &unused)
    do {
        try model.loadParameters(from: file)
    } catch {
        throw CheckpointError(path: url.path, problem: error)
    }
    return (model, document)
}
