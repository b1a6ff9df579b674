//! Where the users run with `--threads N` above 1: N threads, each with its own current-thread
//! tokio runtime (thread per core), users dealt out in turn (user `i` on thread `i % N`).
//!
//! A user's task, its socket and its timers then live on one thread for the whole run: no work
//! stealing moves it, no wake-up crosses threads, and each thread polls its own sockets' readiness
//! (a multi-thread runtime has one I/O driver, so one worker polls it and wakes the others). The
//! recorder shards follow the same deal (`shard = user % shards`, shards a multiple of N), so a
//! shard's lock is only ever taken by one thread. With `--threads 1` everything runs on the
//! caller's runtime and this module is not used.
//!
//! The threads end when [`UserThreads`] is dropped: each runtime then drops whatever task is left
//! (the runner has already aborted and awaited every user).

use std::{io, thread};

use tokio::{runtime::Handle, sync::oneshot};

/// The threads that run the users, and the handles to spawn on them.
#[derive(Debug)]
pub struct UserThreads {
    handles: Vec<Handle>,
    /// One per thread: dropping (or sending) ends that thread's runtime.
    ends: Vec<oneshot::Sender<()>>,
    joins: Vec<thread::JoinHandle<()>>,
}

impl UserThreads {
    /// Starts `count` threads (`loadgen-users-K`), each blocking on its own runtime.
    pub fn start(count: usize) -> io::Result<Self> {
        let mut threads = Self {
            handles: Vec::with_capacity(count),
            ends: Vec::with_capacity(count),
            joins: Vec::with_capacity(count),
        };
        for index in 0..count {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (end, ended) = oneshot::channel::<()>();
            threads.handles.push(runtime.handle().clone());
            threads.ends.push(end);
            threads.joins.push(
                thread::Builder::new()
                    .name(format!("loadgen-users-{index}"))
                    .spawn(move || {
                        // Err too means the end: the sender was dropped.
                        let _ = runtime.block_on(ended);
                    })?,
            );
        }
        Ok(threads)
    }

    /// The runtimes to spawn users on, one per thread.
    pub fn handles(&self) -> &[Handle] {
        &self.handles
    }
}

impl Drop for UserThreads {
    fn drop(&mut self) {
        self.ends.clear();
        for join in self.joins.drain(..) {
            let _ = join.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[tokio::test]
    async fn each_handle_runs_its_tasks_on_one_thread_of_its_own() {
        let threads = UserThreads::start(3).expect("three threads start");
        assert_eq!(threads.handles().len(), 3, "one handle per thread");
        let mut names = HashSet::new();
        for handle in threads.handles() {
            let mut seen = HashSet::new();
            for _ in 0..4 {
                let name = handle
                    .spawn(async {
                        tokio::task::yield_now().await;
                        thread::current().name().map(str::to_owned)
                    })
                    .await
                    .expect("the task ran");
                seen.insert(name.expect("the thread is named"));
            }
            assert_eq!(
                seen.len(),
                1,
                "every task of a handle runs on its thread: {seen:?}"
            );
            names.extend(seen);
        }
        assert_eq!(names.len(), 3, "three handles, three threads: {names:?}");
        drop(threads);
    }

    #[test]
    fn dropping_ends_the_threads_and_their_pending_tasks() {
        let threads = UserThreads::start(2).expect("two threads start");
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        // A task that never ends by itself: dropping the runtime drops it, and with it `tx`.
        threads.handles()[1].spawn(async move {
            let _tx = tx;
            std::future::pending::<()>().await;
        });
        drop(threads);
        assert!(
            rx.recv().is_err(),
            "the pending task was dropped with its runtime, so its sender is gone"
        );
    }
}
