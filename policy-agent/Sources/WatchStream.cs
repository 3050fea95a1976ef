using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace CniEgress.PolicyAgent.Sources;

/// <summary>One watch of a collection (`GET path?watch=true&amp;resourceVersion=...`), read line by
/// line as the API server streams its events. Opening returns once the server has answered, which
/// is when it counts as reachable. The client's own watcher does the same, but it hides that
/// moment and is missing from the client's native-AOT build.</summary>
internal static class WatchStream
{
    /// <summary>A watch event: ADDED, MODIFIED, DELETED or BOOKMARK, with its object.</summary>
    public readonly record struct Event<T>(string Type, T Object);

    public static async Task<HttpResponseMessage> OpenAsync(Kubernetes client, string path, string version, CancellationToken stop)
    {
        string query = $"?watch=true&allowWatchBookmarks=true&resourceVersion={Uri.EscapeDataString(version)}";
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(client.BaseUri.ToString().TrimEnd('/') + path + query));
        if (client.Credentials != null) await client.Credentials.ProcessHttpRequestAsync(request, stop).ConfigureAwait(false);
        var response = await client.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop).ConfigureAwait(false);
        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            string body = await response.Content.ReadAsStringAsync(stop).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Gone) throw Expired(body);
            throw new HttpOperationException($"watch {path}: {(int)response.StatusCode} {response.ReasonPhrase}: {body}");
        }
    }

    /// <summary>The events until the server ends the stream; an ERROR event throws (410 Gone as a
    /// <see cref="KubernetesException"/> with that code).</summary>
    public static async IAsyncEnumerable<Event<T>> ReadAsync<T>(HttpResponseMessage response, [EnumeratorCancellation] CancellationToken stop)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(stop).ConfigureAwait(false));
        while (await reader.ReadLineAsync(stop).ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0) continue;
            string type, item;
            using (var document = JsonDocument.Parse(line))
            {
                type = document.RootElement.GetProperty("type").GetString() ?? "";
                item = document.RootElement.GetProperty("object").GetRawText();
            }
            if (type == "ERROR") throw new KubernetesException(KubernetesJson.Deserialize<V1Status>(item));
            yield return new Event<T>(type, KubernetesJson.Deserialize<T>(item));
        }
    }

    private static KubernetesException Expired(string body)
    {
        V1Status? status = null;
        try { status = KubernetesJson.Deserialize<V1Status>(body); }
        catch (JsonException) { }
        status ??= new V1Status();
        status.Code ??= 410;
        status.Message ??= "resource version expired";
        return new KubernetesException(status);
    }
}
