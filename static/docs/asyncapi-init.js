// Renders the AsyncAPI document named by the container's data-spec-url with the bundled viewer.
"use strict";
(function () {
  const container = document.getElementById("asyncapi");
  if (typeof AsyncApiStandalone === "undefined") {
    explainMissing(container, "the AsyncAPI viewer (@asyncapi/react-component)");
    return;
  }
  AsyncApiStandalone.render(
    { schema: { url: container.dataset.specUrl }, config: { show: { sidebar: true } } },
    container,
  );
})();
