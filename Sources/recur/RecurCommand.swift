import ArgumentParser
import Recur

@main
struct RecurCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recur",
        abstract: "Recurrent sequence models (RNN, GRU, LSTM) in Swift.",
        subcommands: [DemoCommand.self, TrainCommand.self, SampleCommand.self, ScoreCommand.self, ClassifyCommand.self, TagCommand.self, EvalCommand.self,
                      InspectCommand.self, ImportTorchCommand.self, ExportTorchCommand.self, ExportONNXCommand.self,
                      BenchCommand.self]
    )
}
