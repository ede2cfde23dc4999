// `import Recur` gives a user everything: tensors, kernels, layers and losses, and training.
@_exported import RecurCore
@_exported import RecurLayers
@_exported import RecurTraining
