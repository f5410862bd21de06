// Whether a budget over many holders ever held anything back (`Budget.wasReached`).

import Testing
@testable import TCPReassembly

@Suite struct BudgetTests {
    @Test func checksWithRoomLeaveItUnreached() {
        let budget = Budget(limit: 10)
        #expect(budget.hasRoom(for: 10) && budget.room(for: 4) == 4 && !budget.isExhausted)
        budget.charge(10)
        #expect(budget.room(for: 0) == 0)
        budget.release(10)
        #expect(!budget.wasReached)
    }

    @Test(arguments: ["hasRoom", "room", "isExhausted", "charge"]) func eachWayOfReachingItCounts(_ way: String) {
        let budget = Budget(limit: 10)
        budget.charge(8)
        switch way {
        case "hasRoom": #expect(!budget.hasRoom(for: 3))
        case "room": #expect(budget.room(for: 3) == 2)
        case "isExhausted":
            budget.charge(2)
            #expect(budget.isExhausted)
        default: budget.charge(3)  // charged past the limit without a check
        }
        budget.release(budget.current)
        #expect(budget.wasReached)
    }
}
