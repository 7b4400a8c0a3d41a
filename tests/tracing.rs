//! Loads open a span with the plugin, file, size and time; calls emit trace events.

mod common;

use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use xxlang_plugin::Object;

#[derive(Default, Clone)]
struct Seen(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl<S: Subscriber> Layer<S> for Seen {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        let mut f = Fields(format!("span {}", attrs.metadata().name()));
        attrs.record(&mut f);
        self.0.lock().expect("lock").push(f.0);
    }

    fn on_record(&self, _: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut f = Fields(String::from("record"));
        values.record(&mut f);
        self.0.lock().expect("lock").push(f.0);
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut f = Fields(format!("event {}", event.metadata().level()));
        event.record(&mut f);
        self.0.lock().expect("lock").push(f.0);
    }
}

#[test]
fn load_span_and_call_events() {
    let seen = Seen::default();
    let subscriber = tracing_subscriber::registry().with(seen.clone()).with(
        tracing_subscriber::filter::LevelFilter::from_level(Level::TRACE),
    );
    tracing::subscriber::with_default(subscriber, || {
        let fib = common::load("fib");
        assert_eq!(
            fib.call("fast", &[Object::Int(10)]).ok(),
            Some(Object::Int(55))
        );
    });
    let lines = seen.0.lock().expect("lock").clone();
    let all = lines.join("\n");
    let load = lines
        .iter()
        .find(|l| l.starts_with("span load"))
        .unwrap_or_else(|| panic!("no load span:\n{all}"));
    assert!(load.contains("plugin=\"fib\""), "{load}");
    assert!(load.contains("fib.wasm"), "{load}");
    assert!(load.contains("bytes="), "{load}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("record") && l.contains("elapsed_us=")),
        "{all}"
    );
    assert!(lines.iter().any(|l| l.contains("loaded plugin")), "{all}");
    let call = lines
        .iter()
        .find(|l| l.starts_with("event TRACE") && l.contains("function=fast"))
        .unwrap_or_else(|| panic!("no call event:\n{all}"));
    assert!(call.contains("plugin=\"fib\""), "{call}");
}
