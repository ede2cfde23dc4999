import RecurCore
import RecurLayers

/// How a model turns token ids into the recurrent layers' input: learned vectors (`Embedding`, E wide) or one-hot
/// vectors (V wide). The language model and the classifier read tokens the same way.
enum TokenInput {
    /// What does not fit between the vocabulary, the embedding and the recurrent layers, one sentence each.
    static func problems(vocabularySize: Int, embeddingSize: Int?, recurrent: RecurrentConfiguration) -> [String] {
        var found = recurrent.problems
        if vocabularySize < 1 { found.append("the vocabulary size must be at least 1, got \(vocabularySize)") }
        if let e = embeddingSize, e < 1 { found.append("the embedding size must be at least 1, got \(e)") }
        if recurrent.inputSize != (embeddingSize ?? vocabularySize) {
            found.append("the recurrent input size \(recurrent.inputSize) must equal the \(embeddingSize == nil ? "vocabulary" : "embedding") size \(embeddingSize ?? vocabularySize)")
        }
        return found
    }

    /// ids [T·B] → [T, B, E] through `embedding`, or one-hot [T, B, V] without one; −1 reads a zero vector.
    static func vectors(_ ids: [Int], steps: Int, batchSize: Int, embedding: Embedding?, vocabularySize: Int) -> Tensor {
        if let embedding { return embedding(ids, shape: [steps, batchSize]) }
        return Tensor.oneHot(ids, depth: vocabularySize, shape: [steps, batchSize])
    }
}
