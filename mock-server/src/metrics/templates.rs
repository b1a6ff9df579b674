//! The route template of a request's path, for counting by route outside the router.

use std::sync::Arc;

use rustc_hash::FxHashMap;

/// The route template of a path (`/api/v1/cities/{id}` for `/api/v1/cities/42`), matched the way
/// the router matches it (`matchit`, axum's own router, over the paths of the route table's
/// OpenAPI document, which has every route). The tracking layer uses it outside the router,
/// where there is no `MatchedPath`: a layer inside the router is boxed and cloned per request.
/// A path that is itself a template without parameters (`/json`) is found by one hash lookup
/// first: the router prefers a static route to a parameter too, so the answer is the same.
#[derive(Debug, Clone)]
pub struct Templates(Arc<Lookup>);

#[derive(Debug)]
struct Lookup {
    fixed: FxHashMap<Arc<str>, ()>,
    router: matchit::Router<Arc<str>>,
}

impl Templates {
    /// The templates of `paths` (route templates as the router has them).
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a String>) -> Self {
        let mut router = matchit::Router::new();
        let mut fixed = FxHashMap::default();
        for path in paths {
            let template: Arc<str> = Arc::from(path.as_str());
            if !path.contains('{') {
                fixed.insert(template.clone(), ());
            }
            router
                .insert(path.as_str(), template)
                .expect("the route table's paths are valid and distinct router paths");
        }
        Self(Arc::new(Lookup { fixed, router }))
    }

    /// The template `path` matches, or `None` (a path no route serves).
    pub fn of(&self, path: &str) -> Option<&Arc<str>> {
        if let Some((template, ())) = self.0.fixed.get_key_value(path) {
            return Some(template);
        }
        self.0.router.at(path).ok().map(|matched| matched.value)
    }
}
