// What a documentation page says when its viewer is not installed, instead of staying blank.
"use strict";
function explainMissing(container, viewer) {
  const message = document.createElement("p");
  message.setAttribute("role", "alert");
  message.append(
    `${viewer} is not installed on this server. In a checkout it comes from node_modules: run \`npm ci\` ` +
      "(`make run` does) and reload. An installed package has it only if it was built after `npm ci` " +
      "(`make dist` does): install such a build. The document itself is here: ",
  );
  const link = document.createElement("a");
  link.href = container.dataset.specUrl;
  link.textContent = container.dataset.specUrl;
  message.append(link, ".");
  container.replaceChildren(message);
}
