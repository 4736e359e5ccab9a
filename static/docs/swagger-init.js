// Swagger UI for our own document only: no remote validator badge, no ?url= or ?config= overrides.
"use strict";
(function () {
  const container = document.getElementById("swagger-ui");
  if (typeof SwaggerUIBundle === "undefined" || typeof SwaggerUIStandalonePreset === "undefined") {
    explainMissing(container, "Swagger UI (swagger-ui-dist)");
    return;
  }
  window.ui = SwaggerUIBundle({
    url: container.dataset.specUrl,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    queryConfigEnabled: false,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
  });
})();
