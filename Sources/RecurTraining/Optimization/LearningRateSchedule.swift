import Foundation

/// How the learning rate changes as training goes on. `rate(base:step:)` gives η for step s (from 0), and is a
/// pure function of the step — so a resumed run continues the schedule exactly — except `reduceOnPlateau`,
/// whose state (`PlateauState`) is saved in checkpoints.
public enum LearningRateSchedule: Codable, Equatable, Sendable {
    /// η = base.
    case constant
    /// η = base · factorᵏ, with k = 0 before `start` and 1 + ⌊(s − start)/every⌋ from it
    /// (Zaremba et al.'s "halve every epoch after the fourth": start = 4 epochs, every = 1 epoch, factor 0.5).
    case stepDecay(start: Int, every: Int, factor: Double)
    /// η = base · factorˢ.
    case exponential(factor: Double)
    /// Linear warm-up from 0 over `warmupSteps`, then half a cosine from base down to `minimum` at `totalSteps`:
    ///
    ///     η = base · (s + 1) / warmup                                       s < warmup
    ///     η = minimum + (base − minimum) · (1 + cos(π · p)) / 2,  p = (s − warmup) / (total − warmup)
    case warmupCosine(warmupSteps: Int, totalSteps: Int, minimum: Double)
    /// η = base · scale, where scale is multiplied by `factor` whenever the validation loss has not improved
    /// (by more than 1e-4 relative) for `patience` validations in a row, down to `minimum` / base.
    case reduceOnPlateau(factor: Double, patience: Int, minimum: Double)

    /// η for step `step` (0 for the first update).
    public func rate(base: Double, step: Int, plateau: PlateauState = PlateauState()) -> Double {
        switch self {
        case .constant:
            return base
        case .stepDecay(let start, let every, let factor):
            let decays = step < start ? 0 : 1 + (step - start) / every
            return base * pow(factor, Double(decays))
        case .exponential(let factor):
            return base * pow(factor, Double(step))
        case .warmupCosine(let warmup, let total, let minimum):
            if step < warmup { return base * Double(step + 1) / Double(warmup) }
            let progress = min(1, Double(step - warmup) / Double(max(1, total - warmup)))
            return minimum + (base - minimum) * (1 + cos(Double.pi * progress)) / 2
        case .reduceOnPlateau(_, _, let minimum):
            return max(minimum, base * plateau.scale)
        }
    }

    /// What is out of range, as messages; empty when the schedule is valid.
    public var problems: [String] {
        switch self {
        case .constant: return []
        case .stepDecay(let start, let every, let factor):
            var found: [String] = []
            if start < 0 { found.append("step decay start must be at least 0, got \(start)") }
            if every < 1 { found.append("step decay interval must be at least 1, got \(every)") }
            if !(factor > 0 && factor <= 1) { found.append("step decay factor must be in (0, 1], got \(factor)") }
            return found
        case .exponential(let factor):
            return factor > 0 && factor <= 1 ? [] : ["exponential decay factor must be in (0, 1], got \(factor)"]
        case .warmupCosine(let warmup, let total, let minimum):
            var found: [String] = []
            if warmup < 0 { found.append("warm-up steps must be at least 0, got \(warmup)") }
            if total <= warmup { found.append("cosine schedule needs total steps (\(total)) above the warm-up (\(warmup))") }
            if minimum < 0 { found.append("cosine minimum must be at least 0, got \(minimum)") }
            return found
        case .reduceOnPlateau(let factor, let patience, let minimum):
            var found: [String] = []
            if !(factor > 0 && factor < 1) { found.append("plateau factor must be in (0, 1), got \(factor)") }
            if patience < 0 { found.append("plateau patience must be at least 0, got \(patience)") }
            if minimum < 0 { found.append("plateau minimum must be at least 0, got \(minimum)") }
            return found
        }
    }

    /// Updates `plateau` after a validation with loss `validationLoss` (only `reduceOnPlateau` uses it).
    public func observe(validationLoss: Double, plateau: inout PlateauState) {
        guard case .reduceOnPlateau(let factor, let patience, _) = self else { return }
        if plateau.best.map({ validationLoss < $0 * (1 - 1e-4) }) ?? true {
            plateau.best = validationLoss
            plateau.badValidations = 0
        } else {
            plateau.badValidations += 1
            if plateau.badValidations > patience {
                plateau.scale *= factor
                plateau.badValidations = 0
            }
        }
    }
}

/// What reduce-on-plateau remembers between validations.
public struct PlateauState: Codable, Equatable, Sendable {
    /// The lowest validation loss so far (nil before the first).
    public var best: Double? = nil
    /// Validations in a row without a new best.
    public var badValidations = 0
    /// The factor applied to the base learning rate so far.
    public var scale = 1.0

    /// The state before any validation.
    public init() {}
}
