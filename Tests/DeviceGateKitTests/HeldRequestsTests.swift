import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

@Suite struct HeldRequestsTests {
    let alice = ApprovalPerson(id: "7", name: "Alice")

    func request(_ time: any TimeSource, timeout: Double = 120, agent: String = "openclaw", rule: String = "POST /send")
        -> ApprovalRequest
    {
        ApprovalRequest(
            profile: "work", agent: agent, rule: rule, subject: .rawToken(requester: "PID 1 (test)"), heldAt: time.now(),
            expiresAt: time.now().addingTimeInterval(timeout))
    }

    @Test func aRequestIsDecidedOnceAndThenNamesNothing() async throws {
        let time = SteppedTime()
        let held = HeldRequests(time: time)
        let request = request(time)
        await held.hold(request)
        let waiting = Task { await held.wait(for: request) }
        #expect(await held.decide(request.id, .approveOnce, by: alice) == request)
        // A replay of the same button, or another button of the same message.
        #expect(await held.decide(request.id, .approveOnce, by: alice) == nil)
        #expect(await held.decide(request.id, .deny, by: alice) == nil)
        #expect(await waiting.value == .approved(by: alice, forWindow: false))
        #expect(await held.count == 0)
    }

    @Test func aPressBeforeTheWaitBeginsIsKept() async {
        let time = SteppedTime()
        let held = HeldRequests(time: time)
        let request = request(time)
        await held.hold(request)
        #expect(await held.decide(request.id, .deny, by: alice) != nil)
        #expect(await held.wait(for: request) == .denied(by: alice))
    }

    @Test func theDeadlineEndsTheWaitAndLaterPressesFindNothing() async throws {
        let time = SteppedTime()
        let held = HeldRequests(time: time)
        let request = request(time, timeout: 120)
        await held.hold(request)
        let waiting = Task { await held.wait(for: request) }
        try await time.waitForSleepers(1)
        time.advance(119)
        #expect(await held.request(request.id) != nil)
        time.advance(1)
        #expect(await waiting.value == .timedOut)
        #expect(await held.decide(request.id, .approveOnce, by: alice) == nil)
    }

    @Test func aPressPastTheDeadlineIsRefusedEvenBeforeTheTimerRuns() async {
        let time = ManualTime()
        let held = HeldRequests(time: time)
        let request = request(time, timeout: 10)
        await held.hold(request)
        time.advance(10)
        #expect(await held.decide(request.id, .approveOnce, by: alice) == nil)
    }

    @Test func aCancelledWaitIsWithdrawn() async throws {
        let time = SteppedTime()
        let held = HeldRequests(time: time)
        let request = request(time)
        await held.hold(request)
        let waiting = Task { await held.wait(for: request) }
        try await time.waitForSleepers(1)
        waiting.cancel()
        #expect(await waiting.value == .withdrawn)
        #expect(await held.decide(request.id, .approveOnce, by: alice) == nil)
    }

    @Test func twentyRequestsAreDecidedEachOnItsOwn() async throws {
        let time = SteppedTime()
        let held = HeldRequests(time: time)
        let requests = (0..<20).map { _ in request(time) }
        for request in requests { await held.hold(request) }
        let verdicts = Task {
            await withTaskGroup(of: (HeldRequestID, ApprovalVerdict).self) { group in
                for request in requests { group.addTask { (request.id, await held.wait(for: request)) } }
                var all: [HeldRequestID: ApprovalVerdict] = [:]
                for await (id, verdict) in group { all[id] = verdict }
                return all
            }
        }
        try await time.waitForSleepers(20)
        for (index, request) in requests.enumerated() {
            #expect(await held.decide(request.id, index.isMultiple(of: 2) ? .approveOnce : .deny, by: alice) != nil)
        }
        let all = await verdicts.value
        for (index, request) in requests.enumerated() {
            #expect(all[request.id] == (index.isMultiple(of: 2) ? .approved(by: alice, forWindow: false) : .denied(by: alice)))
        }
    }

    @Test func aWindowCoversTheSameRuleAndAgentOnly() async {
        let time = ManualTime()
        let windows = ApprovalWindows()
        let first = request(time)
        await windows.open(for: first, until: time.now().addingTimeInterval(ApprovalPolicy.window))
        #expect(await windows.covering(request(time), now: time.now()) != nil)
        #expect(await windows.covering(request(time, agent: "other"), now: time.now()) == nil)
        #expect(await windows.covering(request(time, rule: "DELETE /**"), now: time.now()) == nil)
        time.advance(ApprovalPolicy.window)
        #expect(await windows.covering(request(time), now: time.now()) == nil)
    }

    @Test func withoutAnApproverAHeldCallIsRefusedAtOnce() async {
        let time = ManualTime()
        let desk = ApprovalDesk(approver: nil, held: HeldRequests(time: time), audit: nil, time: time)
        let verdict = await desk.hold(request(time))
        guard case .unavailable(let reason) = verdict else {
            Issue.record("expected unavailable, got \(verdict)")
            return
        }
        #expect(reason.contains("no approver"))
        #expect(verdict.error == "approval_unavailable")
    }
}
