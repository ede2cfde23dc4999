// `import Recur` gives a user everything: tensors, kernels, recurrent layers and (as they land) training and models.
@_exported import RecurCore
@_exported import RecurLayers
