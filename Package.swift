// swift-tools-version: 6.0
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
    ],
    targets: [
        // MARK: - Kernels (C, ISA-specific inner loops chosen at run time; no unsafeFlags)
        .target(name: "CRecurKernels"),

        // MARK: - Library
        .target(name: "RecurCore", dependencies: ["CRecurKernels"]),
        .target(name: "RecurLayers", dependencies: ["CRecurKernels", "RecurCore"]),
        .target(name: "RecurText"),
        .target(name: "RecurTraining", dependencies: ["RecurCore", "RecurLayers"]),
        .target(name: "RecurModels", dependencies: ["RecurCore", "RecurLayers", "RecurText", "RecurTraining"]),
        .target(name: "Recur", dependencies: ["RecurCore", "RecurLayers", "RecurText", "RecurTraining", "RecurModels"]),

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
        .testTarget(name: "RecurCoreTests", dependencies: ["RecurCore"], exclude: ["Fixtures"]),
        .testTarget(name: "RecurLayersTests", dependencies: ["RecurLayers"], exclude: ["Fixtures"]),
        .testTarget(name: "RecurTextTests", dependencies: ["RecurText"]),
        .testTarget(name: "RecurTrainingTests", dependencies: ["RecurTraining", "RecurModels", "RecurText"]),
        .testTarget(name: "RecurCLITests", dependencies: ["recur", "Recur"], exclude: ["Fixtures"]),
    ]
)
