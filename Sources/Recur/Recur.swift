// `import Recur` gives a user everything: tensors, kernels, layers and losses, text, training and models.
@_exported import RecurCore
@_exported import RecurFormats
@_exported import RecurLayers
@_exported import RecurMetrics
@_exported import RecurModels
@_exported import RecurText
@_exported import RecurTraining
