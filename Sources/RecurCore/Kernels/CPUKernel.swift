import CRecurKernels
import Foundation
import Synchronization

/// The instruction set Recur's inner loops run with.
///
/// Recur detects the widest one the CPU (and its operating system) supports and uses it by default.
/// Set the environment variable `RECUR_KERNEL` to `portable`, `avx2` or `avx512` to force one at start-up,
/// or pass a kernel through `ComputeSettings` for a single call — every path computes the same results
/// (to rounding), only at different speeds.
public enum CPUKernel: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Plain C vectorized by the compiler for the build's baseline target (SSE2 on x86-64, NEON on arm64).
    case portable
    /// AVX2 with fused multiply-add, 256-bit vectors.
    case avx2
    /// AVX-512F, 512-bit vectors.
    case avx512

    /// The widest kernel this machine can run.
    public static let detected: CPUKernel = {
        switch recur_detect_isa() {
        case Int32(RECUR_ISA_AVX512): return .avx512
        case Int32(RECUR_ISA_AVX2): return .avx2
        default: return .portable
        }
    }()

    /// Every kernel this machine can run, narrowest first.
    public static var supported: [CPUKernel] { allCases.filter(\.isSupported) }

    /// Whether this machine can run the kernel.
    public var isSupported: Bool { rank <= CPUKernel.detected.rank }

    public var description: String { rawValue }

    /// Rows of C one micro-kernel call computes (MR).
    public var tileRows: Int { Int(recur_gemm_tile_rows(isa)) }
    /// Columns of C one micro-kernel call computes (NR); packed panels are this wide.
    public var tileColumns: Int { Int(recur_gemm_tile_columns(isa)) }

    /// The `RECUR_ISA_*` value CRecurKernels dispatches on for this kernel.
    public var isa: Int32 {
        switch self {
        case .portable: Int32(RECUR_ISA_PORTABLE)
        case .avx2: Int32(RECUR_ISA_AVX2)
        case .avx512: Int32(RECUR_ISA_AVX512)
        }
    }

    private var rank: Int {
        switch self {
        case .portable: 0
        case .avx2: 1
        case .avx512: 2
        }
    }
}

/// Which kernel and how many threads a computation uses.
///
/// `ComputeSettings.current` is the process-wide default every call uses unless it is given settings
/// of its own. It starts from `RECUR_KERNEL` (when set to a supported kernel) and all cores.
public struct ComputeSettings: Sendable, Equatable {
    /// The instruction set of the inner loops; must be supported by this machine.
    public var kernel: CPUKernel
    /// Threads a large matrix product may use (1 = the calling thread only).
    public var threadCount: Int

    /// Settings with this kernel (the best the CPU has by default) and this many threads (every core by default).
    public init(kernel: CPUKernel = CPUKernel.detected, threadCount: Int = ComputeSettings.coreCount) {
        require(kernel.isSupported, "kernel \(kernel) is not supported here (detected \(CPUKernel.detected))")
        require(threadCount >= 1, "threadCount must be at least 1, got \(threadCount)")
        self.kernel = kernel
        self.threadCount = threadCount
    }

    /// Cores the operating system lets this process use.
    public static let coreCount: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// The kernel named by the `RECUR_KERNEL` environment variable, or nil when it is unset.
    /// A name that is unknown or unsupported here is reported once on standard error and ignored.
    public static let environmentKernel: CPUKernel? = {
        guard let name = ProcessInfo.processInfo.environment["RECUR_KERNEL"], !name.isEmpty else { return nil }
        guard let kernel = CPUKernel(rawValue: name.lowercased()) else {
            FileHandle.standardError.write(Data(
                "recur: ignoring RECUR_KERNEL=\(name): expected one of \(CPUKernel.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
            return nil
        }
        guard kernel.isSupported else {
            FileHandle.standardError.write(Data(
                "recur: ignoring RECUR_KERNEL=\(name): this CPU supports only \(CPUKernel.supported.map(\.rawValue).joined(separator: ", "))\n".utf8))
            return nil
        }
        return kernel
    }()

    private static let shared = Mutex(ComputeSettings(kernel: environmentKernel ?? CPUKernel.detected))

    /// The process-wide default.
    public static var current: ComputeSettings {
        get { shared.withLock { $0 } }
        set { shared.withLock { $0 = newValue } }
    }
}
