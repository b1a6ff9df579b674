//! [`OnWake`]: a future that is polled again only once it has woken the task itself.
//!
//! A connection's task waits on the connection, its watchdog and the shutdown signals in one
//! `select!`, and nearly every wake-up comes from the socket: polling the watchdog's `Sleep` and
//! the shutdown receiver on each of them re-checked a timer and a channel that had not fired, on
//! every request. Wrapped in [`OnWake`], each gets a waker of its own that raises a flag before
//! waking the task, and a poll without the flag is one atomic load.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

use futures::task::AtomicWaker;

pin_project_lite::pin_project! {
    /// `inner`, polled only on its first poll and after it woke the task.
    pub struct OnWake<F> {
        #[pin]
        inner: F,
        flag: Arc<Flag>,
        // `flag` as a waker, made once.
        waker: Waker,
        // The task's waker as last registered in `flag`, to notice a change without a poll.
        task: Option<Waker>,
    }
}

/// Set by `inner`'s waker; holds the task's waker to pass the wake-up on.
#[derive(Debug, Default)]
struct Flag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl<F> OnWake<F> {
    pub fn new(inner: F) -> Self {
        let flag = Arc::new(Flag {
            // The first poll polls `inner`, so that it registers its waker.
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        Self {
            inner,
            waker: Waker::from(flag.clone()),
            flag,
            task: None,
        }
    }
}

impl<F: Future> Future for OnWake<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        // The task's waker is registered before the flag is read: a wake-up between the two
        // finds it and wakes the task again.
        if !this
            .task
            .as_ref()
            .is_some_and(|task| task.will_wake(cx.waker()))
        {
            this.flag.task.register(cx.waker());
            *this.task = Some(cx.waker().clone());
        }
        if !this.flag.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        // `AtomicWaker::wake` takes the registered waker: register it again for the next one.
        this.flag.task.register(cx.waker());
        this.inner.poll(&mut Context::from_waker(this.waker))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_wrapped_timer_still_fires_while_another_branch_keeps_waking_the_task() {
        let timer = OnWake::new(tokio::time::sleep(Duration::from_millis(100)));
        tokio::pin!(timer);
        let mut ticks = tokio::time::interval(Duration::from_millis(5));
        let mut seen = 0;
        loop {
            tokio::select! {
                biased;
                _ = ticks.tick() => seen += 1,
                () = &mut timer => break,
            }
        }
        assert!(
            seen >= 1,
            "the ticks woke the task before the timer fired (the first one is immediate), and the \
             timer still fired: {seen} ticks"
        );
    }

    #[tokio::test]
    async fn a_wrapped_channel_sees_a_send_made_after_its_first_poll() {
        let (tx, mut rx) = tokio::sync::watch::channel(());
        let changed = OnWake::new(rx.changed());
        tokio::pin!(changed);
        assert!(
            futures::poll!(changed.as_mut()).is_pending(),
            "nothing was sent yet"
        );
        tx.send(()).unwrap();
        assert!(
            changed.await.is_ok(),
            "the send wakes the wrapped receiver and it completes"
        );
    }
}
