// swift-tools-version: 6.2
// Swift 6.2 or newer: the tests use Swift Testing's exit tests, which came with 6.2.
import PackageDescription

let package = Package(
    name: "Recur",
    platforms: [.macOS(.v15)],
    // MARK: - Products
    products: [
        .library(name: "Recur", targets: ["Recur"]),
        .executable(name: "recur", targets: ["recur"]),
    ],
    // MARK: - Dependencies
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // MARK: - Kernels (C, ISA-specific inner loops chosen at run time; no unsafeFlags)
        .target(name: "CRecurKernels"),

        // MARK: - Library
        .target(name: "RecurCore", dependencies: ["CRecurKernels"]),
        .target(name: "RecurLayers", dependencies: ["CRecurKernels", "RecurCore"]),
        .target(name: "RecurText"),
        .target(name: "RecurFormats", dependencies: ["RecurText"]),
        .target(name: "RecurMetrics"),
        .target(name: "RecurTraining", dependencies: ["RecurCore", "RecurLayers"]),
        .target(name: "RecurModels", dependencies: ["RecurCore", "RecurLayers", "RecurText", "RecurMetrics", "RecurTraining"]),
        .target(name: "Recur", dependencies: ["RecurCore", "RecurLayers", "RecurText", "RecurFormats", "RecurMetrics",
                                              "RecurTraining", "RecurModels"]),

        // MARK: - Command-line tool
        .executableTarget(
            name: "recur",
            dependencies: [
                "Recur",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            resources: [.copy("Resources/tour.md")]
        ),

        // MARK: - Tests
        .target(name: "RecurTestSupport", dependencies: ["RecurCore"], path: "Tests/RecurTestSupport"),
        .testTarget(name: "RecurCoreTests", dependencies: ["RecurCore", "RecurTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "RecurLayersTests", dependencies: ["RecurLayers", "RecurTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "RecurTextTests", dependencies: ["RecurText", "RecurTestSupport"]),
        .testTarget(name: "RecurFormatsTests", dependencies: ["RecurFormats", "RecurTestSupport"]),
        .testTarget(name: "RecurMetricsTests", dependencies: ["RecurMetrics", "RecurCore", "RecurTestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "RecurTrainingTests",
                    dependencies: ["RecurTraining", "RecurModels", "RecurText", "RecurTestSupport"]),
        .testTarget(name: "RecurCLITests", dependencies: ["recur", "Recur", "RecurTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "RecurDocumentationTests", dependencies: ["Recur", "RecurTestSupport"]),
    ]
)
