import Testing
@testable import RecurCore
import RecurTestSupport

@Suite("Worker threads")
struct ParallelTests {
    @Test("Thousands of short parallel regions all complete, with pauses that let workers sleep",
          .timeLimit(.minutes(1)))
    func manyRegions() async throws {
        var total = 0
        for round in 0..<3_000 {
            let counts = UncheckedSendable(UnsafeMutablePointer<Int>.allocate(capacity: 3))
            counts.value.initialize(repeating: 0, count: 3)
            parallelFor(3) { index in counts.value[index] += index + 1 }
            total += counts.value[0] + counts.value[1] + counts.value[2]
            counts.value.deallocate()
            // Now and then wait long enough for the workers to stop spinning and go to sleep.
            if round % 500 == 0 { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(total == 3_000 * 6)
    }

    @Test("Nested and concurrent regions run serially instead of deadlocking", .timeLimit(.minutes(1)))
    func nestedRegions() async {
        await withTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let sums = UncheckedSendable(UnsafeMutablePointer<Int>.allocate(capacity: 2))
                    sums.value.initialize(repeating: 0, count: 2)
                    for _ in 0..<200 {
                        parallelFor(2) { outer in
                            parallelFor(2) { inner in sums.value[outer] += inner + 1 }
                        }
                    }
                    let result = sums.value[0] + sums.value[1]
                    sums.value.deallocate()
                    return result
                }
            }
            for await result in group { #expect(result == 200 * 2 * 3) }
        }
    }
}
