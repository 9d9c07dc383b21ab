import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem

/// The processes across a re-exec. The pid stays, so every worker stays our child (and zombies
/// wait for us): the new image needs only each slot's pidfd and what it knew of the process.
/// Breadcrumb rings are mappings, which execve drops: the new image maps each one again from
/// the worker's own fd 3 (`BreadcrumbFile.held(by:)`); a worker that closed it, or died during
/// the exec, has none (its next process gets a new ring). A death during the exec leaves the pidfd readable, and the new image's first
/// turn reaps it like any other: no death goes uncounted.
extension ProcessTable {
    func handoff() -> (section: JSON, keep: [FileDescriptor]) {
        var list: [JSON] = []
        var keep: [FileDescriptor] = []
        for (id, slot) in slots.sorted(by: { $0.key < $1.key }) {
            var o: [(String, JSON)] = [
                ("instance", .string(id.description)),
                ("cgroup_prepared", .bool(slot.cgroupPrepared)),
                ("cgroup_killed", .bool(slot.cgroupKilled)),
            ]
            if let pid = slot.pid, let pidfd = slot.pidfd {
                keep.append(pidfd)
                o.append(("pid", .int(Int64(pid))))
                o.append(("pidfd", .int(Int64(pidfd.rawValue))))
                o.append(("adopted", .bool(slot.adopted)))
                if let name = slot.notifyName { o.append(("notify_name", .string(name))) }
                o.append(("spawned_wall_ns", .int(slot.spawnedAtWall)))
                o.append(("oom_baseline", .int(Int64(slot.oomBaseline))))
                if let start = slot.startTime { o.append(("start_time", .int(Int64(clamping: start)))) }
            }
            list.append(.object(o))
        }
        return (.object([("slots", .array(list)), ("orphans_reaped", .int(Int64(orphansReaped)))]), keep)
    }

    static func validate(_ section: JSON?) throws(HandoffError) {
        for slot in section?["slots"]?.array ?? [] {
            guard let name = slot["instance"]?.string, InstanceID(parsing: name) != nil else { throw HandoffError("processes: a slot without its instance") }
            if slot["pid"] != nil {
                guard let pid = slot["pid"]?.int, pid > 1, pid <= Int64(Int32.max) else { throw HandoffError("processes: \(name) has no valid pid") }
                _ = try HandoffError.descriptor(slot["pidfd"]?.int, "pidfd of \(name)")
            }
        }
    }

    /// Rebuilds every slot of a validated section; `spec` gives an instance's worker (a slot of
    /// an instance the carried config lacks keeps no process: there is none).
    func restore(_ section: JSON?, spec: (InstanceID) -> WorkerSpec?) {
        orphansReaped = Int(max(0, section?["orphans_reaped"]?.int ?? 0))
        for item in section?["slots"]?.array ?? [] {
            guard let name = item["instance"]?.string, let id = InstanceID(parsing: name) else { continue }
            let slot = InstanceSlot(id: id, backtraceDirectory: backtraceDirectory(of: id))
            if item["cgroup_prepared"]?.bool == true, let cgroups, let worker = spec(id) {
                slot.cgroup = cgroups.existingGroup(named: id.description.replacingColons(), hasMemoryLimit: worker.limits.memory != nil)
                slot.cgroupPrepared = true
                slot.cgroupKilled = item["cgroup_killed"]?.bool ?? true
            }
            if let number = item["pid"]?.int, let pid = Int32(exactly: number), let fdNumber = item["pidfd"]?.int,
               let fd = Int32(exactly: fdNumber) {
                let pidfd = FileDescriptor(rawValue: fd)
                slot.pid = pid
                slot.adopted = item["adopted"]?.bool ?? false
                slot.notifyName = item["notify_name"]?.string
                slot.breadcrumbs = .held(by: pid)
                slot.spawnedAtWall = item["spawned_wall_ns"]?.int ?? 0
                slot.oomBaseline = Int(item["oom_baseline"]?.int ?? 0)
                slot.startTime = item["start_time"]?.int.map { UInt64(max(0, $0)) }
                if let token = try? register(pidfd, id) {
                    slot.pidfd = pidfd
                    slot.pidfdToken = token
                } else {
                    pidfd.close()   // the wait4(-1) scan reaps it instead
                }
                track(pid, id)
            }
            install(slot)
        }
        // Deaths the exec hid from the exit events are found by the scan that follows.
        scheduleScan(MonotonicClock.now())
    }
}
