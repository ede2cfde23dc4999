// `import Recur` gives a user everything: tensors, kernels and (as they land) layers, training and models.
@_exported import RecurCore
